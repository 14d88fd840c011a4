"""API keys and agent passwords."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.ops.auth.models import Agent, ApiKey
from api.ops.auth.roles import KEY_ROLES
from api.settings import Settings

_hasher = PasswordHasher()


@dataclass(frozen=True)
class Principal:
    role: str
    name: str


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except VerificationError:
        return False


def configured_principal(*, settings: Settings, key: str) -> Principal | None:
    """The holder of one of the keys in the settings (or var/secrets.json), if it is one."""
    for role, configured in (
        ("admin", settings.admin_key),
        ("service", settings.service_key),
        ("agent", settings.agent_key),
    ):
        if configured and hmac.compare_digest(key.encode(), configured.encode()):
            return Principal(role=role, name=f"{role}-key")
    return None


# Keys made by `create_key` carry this prefix: any other unknown key is refused without a
# database read (so it is a 401 even while the database is away).
STORED_KEY_PREFIX = "odk_"


def may_be_stored(key: str) -> bool:
    return key.startswith(STORED_KEY_PREFIX)


def stored_principal(*, db_session: Session, key: str) -> Principal | None:
    """The holder of an unrevoked key created with `create_key`."""
    row = db_session.scalar(
        select(ApiKey).where(ApiKey.key_hash == hash_key(key), ApiKey.revoked_at.is_(None))
    )
    return Principal(role=row.role, name=row.name) if row else None


def create_key(*, db_session: Session, name: str, role: str, agent_id: int | None = None) -> str:
    """Create a key and return it in clear, once; only its hash is kept."""
    if not name.strip() or len(name.strip()) > 80:
        raise ValueError("a key needs a name of 1 to 80 characters")
    if role not in KEY_ROLES:
        raise ValueError(f"the role must be one of {', '.join(KEY_ROLES)}")
    key = STORED_KEY_PREFIX + secrets.token_urlsafe(32)
    db_session.add(ApiKey(name=name.strip(), key_hash=hash_key(key), role=role, agent_id=agent_id))
    return key


def get_agent_by_email(*, db_session: Session, email: str) -> Agent | None:
    return db_session.scalar(select(Agent).where(Agent.email == email.strip().lower()))
