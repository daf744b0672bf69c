"""API keys with roles, stored as SHA-256 hashes (the keys are random, so no slow hash is needed)."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from ..storage.tables import ApiKey, utcnow

ROLES = ("intake", "reviewer", "admin")
KEY_PREFIX = "pt_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def role_allows(role: str, needed: str) -> bool:
    """Roles are nested: a reviewer can do what intake can, an admin what a reviewer can."""
    return ROLES.index(role) >= ROLES.index(needed)


def create_key(session: Session, name: str, role: str) -> str:
    """Stores a new key and returns it in clear: the only time it is ever seen."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if session.scalar(select(ApiKey).where(ApiKey.name == name)) is not None:
        raise ValueError(f"a key named {name!r} exists already")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiKey(name=name, role=role, key_hash=hash_key(key)))
    session.commit()
    return key


def revoke_key(session: Session, name: str) -> bool:
    row = session.scalar(select(ApiKey).where(ApiKey.name == name, ApiKey.revoked_at.is_(None)))
    if row is None:
        return False
    row.revoked_at = utcnow()
    session.commit()
    return True


def find_key(session: Session, key: str) -> ApiKey | None:
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))
    return row if row is not None and row.revoked_at is None else None


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


class KeyCache:
    """Keys verified recently, so classification keeps answering while the database is away.

    A key verified less than `fresh_s` ago is trusted without a lookup (so a revocation takes effect
    within `fresh_s`); while the database is unreachable, one verified less than `stale_s` ago still is.
    Only hashes are kept.
    """

    def __init__(self, fresh_s: float = 30.0, stale_s: float = 3600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.fresh_s, self.stale_s, self.clock = fresh_s, stale_s, clock
        self._verified: dict[str, tuple[ApiKey, float]] = {}
        self._lock = threading.Lock()

    def lookup(self, database, key: str) -> ApiKey | None:
        digest = hash_key(key)
        with self._lock:
            cached = self._verified.get(digest)
        if cached is not None and self.clock() - cached[1] < self.fresh_s:
            return cached[0]
        try:
            with database.sessions() as session:
                row = find_key(session, key)
        except OperationalError:
            if cached is not None and self.clock() - cached[1] < self.stale_s:
                return cached[0]
            raise
        with self._lock:
            if row is None:
                self._verified.pop(digest, None)
            else:
                self._verified[digest] = (row, self.clock())
        return row
