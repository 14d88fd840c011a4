"""Console accounts: agents, leads and admins, sign-in with lock-out, sessions and their
CSRF tokens."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from api.console.models import AgentSession, LoginFailure
from api.db import utcnow
from api.ops.audit import service as audit
from api.ops.auth.models import Agent
from api.ops.auth.roles import CONSOLE_ROLES, REPORT_ROLES
from api.ops.auth.service import get_agent_by_email, hash_password, verify_password
from api.settings import Settings

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_CHARS = 10
# Verifying against this hash when the account does not exist keeps the answer's timing the
# same for known and unknown emails.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class SignedIn:
    """The agent behind a valid session cookie."""

    agent_id: int
    email: str
    name: str
    role: str
    csrf_token: str
    token_hash: str

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.strip() else self.email.split("@")[0]

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def reads_reports(self) -> bool:
        """The operations lead (and admins): the returns report."""
        return self.role in REPORT_ROLES


@dataclass(frozen=True)
class SignInResult:
    session_token: str | None = None
    locked_for_seconds: int = 0  # > 0: refused without checking the password


def create_agent(*, db_session: Session, email: str, name: str, role: str, password: str) -> Agent:
    """A new console account in the caller's transaction; ValueError says what is wrong."""
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise ValueError(f"{email!r} is not an email address")
    if role not in CONSOLE_ROLES:
        raise ValueError(f"the role must be one of {', '.join(CONSOLE_ROLES)}")
    if not name.strip():
        raise ValueError("a name is needed")
    if len(password) < MIN_PASSWORD_CHARS:
        raise ValueError(f"the password needs at least {MIN_PASSWORD_CHARS} characters")
    if get_agent_by_email(db_session=db_session, email=email) is not None:
        raise ValueError(f"{email} already has an account")
    agent = Agent(
        email=email, name=name.strip()[:120], password_hash=hash_password(password), role=role
    )
    db_session.add(agent)
    db_session.flush()
    audit.record(
        db_session=db_session,
        entity_type="agent",
        entity_id=str(agent.id),
        action="created",
        actor="opsdesk",
        to_state=role,
    )
    return agent


def active_agent(*, db_session: Session, agent_id: int) -> Agent | None:
    agent = db_session.get(Agent, agent_id)
    return agent if agent is not None and agent.active else None


def list_agents(*, db_session: Session) -> list[Agent]:
    return list(db_session.scalars(select(Agent).order_by(Agent.name)))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign_cookie(settings: Settings, token: str) -> str:
    """`token.signature`: the session secret signs the cookie, so a forged or altered one is
    refused before the database is asked."""
    mac = hmac.new(settings.session_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
    return f"{token}.{mac[:32]}"


def unsign_cookie(settings: Settings, value: str) -> str | None:
    token, _, mac = value.rpartition(".")
    if not token or not mac:
        return None
    expected = sign_cookie(settings, token).rpartition(".")[2]
    return token if hmac.compare_digest(mac, expected) else None


def _lock_remaining(
    db_session: Session, settings: Settings, column: Any, value: str, limit: int
) -> int:
    """Seconds left of a lock-out on `value` (0: not locked)."""
    since = utcnow() - timedelta(seconds=settings.console_lockout_seconds)
    count, oldest = db_session.execute(
        select(func.count(LoginFailure.id), func.min(LoginFailure.created_at)).where(
            column == value,
            LoginFailure.created_at >= since,
        )
    ).one()
    if count < limit or oldest is None:
        return 0
    # The lock ends when the oldest failure counted leaves the window.
    ends: datetime = oldest + timedelta(seconds=settings.console_lockout_seconds)
    return max(1, int((ends - utcnow()).total_seconds()))


def clear_failures(
    *, db_session: Session, email: str | None = None, address: str | None = None
) -> int:
    """Lift a lock-out now (an admin's `opsdesk agent unlock`): forget the failed sign-ins
    counted against an account, an address, or both. Returns how many were forgotten; the
    audit log keeps them. The caller commits."""
    if not email and not address:
        raise ValueError("name an email or an address to unlock")
    forgotten = 0
    if email:
        result = db_session.execute(
            delete(LoginFailure).where(LoginFailure.email == email.strip().lower()[:254])
        )
        forgotten += result.rowcount  # type: ignore[attr-defined]
    if address:
        result = db_session.execute(
            delete(LoginFailure).where(LoginFailure.client_address == address[:64])
        )
        forgotten += result.rowcount  # type: ignore[attr-defined]
    return forgotten


def sign_in(
    *, db_session: Session, settings: Settings, email: str, password: str, client_address: str
) -> SignInResult:
    """Check the password (argon2) unless the account or the address is locked out; a failure
    is counted, a success clears the account's failures and opens a session. The caller
    commits."""
    email = email.strip().lower()[:254]
    address = client_address[:64]
    locked = max(
        _lock_remaining(
            db_session,
            settings,
            LoginFailure.email,
            email,
            settings.console_max_failures_per_account,
        ),
        _lock_remaining(
            db_session,
            settings,
            LoginFailure.client_address,
            address,
            settings.console_max_failures_per_address,
        ),
    )
    if locked:
        return SignInResult(locked_for_seconds=locked)
    agent = get_agent_by_email(db_session=db_session, email=email) if email else None
    valid = verify_password(agent.password_hash if agent else _DUMMY_HASH, password)
    if agent is None or not agent.active or not valid:
        db_session.add(LoginFailure(email=email, client_address=address))
        audit.record(
            db_session=db_session,
            entity_type="agent",
            entity_id=email[:40],
            action="sign_in_failed",
            actor=address or "unknown",
        )
        return SignInResult()
    db_session.execute(delete(LoginFailure).where(LoginFailure.email == email))
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db_session.add(
        AgentSession(
            token_hash=_token_hash(token),
            agent_id=agent.id,
            csrf_token=secrets.token_urlsafe(32),
            client_address=address,
            created_at=now,
            expires_at=now + timedelta(hours=settings.console_session_hours),
        )
    )
    audit.record(
        db_session=db_session,
        entity_type="agent",
        entity_id=str(agent.id),
        action="signed_in",
        actor=agent.email,
    )
    return SignInResult(session_token=token)


def session_of(*, db_session: Session, token: str) -> SignedIn | None:
    """The agent of an unexpired, unrevoked session of an active account."""
    row = db_session.execute(
        select(AgentSession, Agent)
        .join(Agent, Agent.id == AgentSession.agent_id)
        .where(
            AgentSession.token_hash == _token_hash(token),
            AgentSession.revoked_at.is_(None),
            AgentSession.expires_at > utcnow(),
            Agent.active.is_(True),
        )
    ).first()
    if row is None:
        return None
    session, agent = row
    return SignedIn(
        agent_id=agent.id,
        email=agent.email,
        name=agent.name,
        role=agent.role,
        csrf_token=session.csrf_token,
        token_hash=session.token_hash,
    )


def sign_out(*, db_session: Session, signed_in: SignedIn) -> None:
    session = db_session.get(AgentSession, signed_in.token_hash)
    if session is not None and session.revoked_at is None:
        session.revoked_at = utcnow()
        audit.record(
            db_session=db_session,
            entity_type="agent",
            entity_id=str(signed_in.agent_id),
            action="signed_out",
            actor=signed_in.email,
        )


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())
