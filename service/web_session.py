"""Sessions of the web pages: a signed cookie naming the API key that signed in, and CSRF tokens.

The cookie holds the key's row id, an expiry and an HMAC; the key is looked up (and must not be
revoked) on every request, so revoking a key ends its sessions. Forms carry a token derived from the
cookie, which another site cannot read.
"""

from __future__ import annotations

import hashlib
import hmac
import time

COOKIE = "pt_session"
LIFETIME_S = 8 * 3600


def _mac(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def issue(secret: str, key_id: int, now: float | None = None) -> str:
    expires = int((now or time.time()) + LIFETIME_S)
    body = f"{key_id}.{expires}"
    return f"{body}.{_mac(secret, body)}"


def read(secret: str, cookie: str | None, now: float | None = None) -> int | None:
    """The key id of a valid, unexpired cookie, else None."""
    try:
        key_id, expires, mac = (cookie or "").split(".")
        if not _same(mac, _mac(secret, f"{key_id}.{expires}")) or int(expires) < (now or time.time()):
            return None
        return int(key_id)
    except ValueError:
        return None


def csrf_token(secret: str, cookie: str) -> str:
    return _mac(secret, "csrf:" + cookie)


def csrf_ok(secret: str, cookie: str | None, token: str | None) -> bool:
    return bool(cookie and token) and _same(csrf_token(secret, cookie), token)


def _same(expected: str, given: str) -> bool:
    """Constant-time equality that takes any text: a forged value may hold non-ASCII characters, which
    `hmac.compare_digest` refuses on str (a TypeError, and so a 500)."""
    return hmac.compare_digest(expected.encode("utf-8", "surrogatepass"), given.encode("utf-8", "surrogatepass"))
