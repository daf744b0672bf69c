"""API keys with roles, stored as SHA-256 hashes (the keys are random, so no slow hash is needed)."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from .tables import ApiKey, utcnow

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
