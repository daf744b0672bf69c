"""Sessions of the web pages, kept on the server, and CSRF tokens.

The cookie holds a random token; the server keeps its hash with the key that signed in and an expiry.
Signing out ends the session in the database, so a copied cookie opens nothing afterwards, and
revoking a key ends its sessions (the key is checked on every request). Knowing the session secret
no longer lets anyone make a session: it only derives the forms' CSRF tokens from the cookie, which
another site cannot read.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from ..storage.tables import WebSession, as_utc, utcnow

COOKIE = "pt_session"
LIFETIME_S = 8 * 3600


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def start(session: Session, key_id: int) -> str:
    """A new session for the key; returns the cookie's token (seen only by that browser)."""
    now = utcnow()
    # Sessions past their expiry are kept no longer than it takes someone to sign in again.
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
    token = secrets.token_urlsafe(32)
    session.add(WebSession(token_hash=_token_hash(token), key_id=key_id, created_at=now,
                           expires_at=now + timedelta(seconds=LIFETIME_S)))
    session.commit()
    return token


def key_id_of(session: Session, token: str | None) -> int | None:
    """The key id of a live session (not ended, not expired), else None."""
    if not token or len(token) > 100:
        return None
    row = session.get(WebSession, _token_hash(token))
    if row is None or row.ended_at is not None or as_utc(row.expires_at) <= utcnow():
        return None
    return row.key_id


def end(session: Session, token: str | None) -> None:
    """Signs out: the session's token opens nothing from now on."""
    row = session.get(WebSession, _token_hash(token)) if token else None
    if row is not None and row.ended_at is None:
        row.ended_at = utcnow()
        session.commit()


def _mac(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def csrf_token(secret: str, cookie: str) -> str:
    return _mac(secret, "csrf:" + cookie)


def csrf_ok(secret: str, cookie: str | None, token: str | None) -> bool:
    return bool(cookie and token) and _same(csrf_token(secret, cookie), token)


def _same(expected: str, given: str) -> bool:
    """Constant-time equality that takes any text: a forged value may hold non-ASCII characters, which
    `hmac.compare_digest` refuses on str (a TypeError, and so a 500)."""
    return hmac.compare_digest(expected.encode("utf-8", "surrogatepass"), given.encode("utf-8", "surrogatepass"))
