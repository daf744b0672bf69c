"""Where webhooks may be sent: public addresses only, unless an admin setting allows the local network.

A webhook makes the service send requests wherever its URL points; pointed at loopback, link-local or a
private range it would reach the database, a cloud metadata endpoint or an internal admin page (SSRF).
The URL is checked when it is subscribed and again before every delivery, since a name can be made to
resolve elsewhere later.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


def refusal(url: str) -> str | None:
    """Why `url` may not receive webhooks, or None. A host that does not resolve now is not refused here:
    delivery resolves it again, checks again, and fails like any unreachable receiver."""
    host = urlsplit(url).hostname
    if not host:
        return f"{url[:100]!r} names no host"
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)}
    except (socket.gaierror, UnicodeError, ValueError):
        return None
    for address in sorted(addresses):
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        ip = getattr(ip, "ipv4_mapped", None) or ip
        if not ip.is_global:
            return (f"{host} is {ip}, not a public address (loopback, private, link-local or reserved); set "
                    "PETITION_TRIAGE_WEBHOOK_PRIVATE_TARGETS=true to allow receivers on the local network")
    return None
