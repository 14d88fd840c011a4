"""Request-scoped dependencies: the database session, the caller's role, list paging."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.db import get_sessionmaker
from api.errors import ApiError
from api.ops.auth.roles import REPORT_ROLES
from api.ops.auth.service import (
    Principal,
    configured_principal,
    may_be_stored,
    stored_principal,
)
from api.settings import get_settings
from opsdesk_ids import MAX_ROW_ID


async def get_db() -> AsyncIterator[Session]:
    """One session per request; the route (or the flow it calls) owns the commit.
    Async only so FastAPI does not spend a thread hop on it: creating and closing a
    session do no waiting; the queries run in the (sync) route."""
    session = get_sessionmaker()()
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


DbSession = Annotated[Session, Depends(get_db)]


async def get_principal(request: Request) -> Principal:
    """The caller, from `Authorization: Bearer <key>`; 401 without a valid key."""
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise ApiError(401, "unauthorized", "Missing bearer key")
    settings = get_settings()
    principal = configured_principal(settings=settings, key=key.strip())
    if principal is None and may_be_stored(key.strip()):
        principal = await run_in_threadpool(_stored_principal, key.strip())
    if principal is None:
        raise ApiError(401, "unauthorized", "Unknown or revoked key")
    return principal


def _stored_principal(key: str) -> Principal | None:
    with get_sessionmaker()() as db:
        return stored_principal(db_session=db, key=key)


def require(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits only callers holding one of `roles`. One dependency that
    reads the request itself: every route pays for each level FastAPI resolves."""

    async def dependency(request: Request) -> Principal:
        principal = await get_principal(request)
        if principal.role not in roles:
            raise ApiError(
                403, "forbidden", f"This route needs one of the roles: {', '.join(roles)}"
            )
        return principal

    return dependency


Staff = Annotated[Principal, Depends(require("admin", "lead", "agent"))]
StaffOrService = Annotated[Principal, Depends(require("admin", "lead", "agent", "service"))]
Lead = Annotated[Principal, Depends(require(*REPORT_ROLES))]
Admin = Annotated[Principal, Depends(require("admin"))]
Service = Annotated[Principal, Depends(require("service", "admin"))]

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Retries with the same key return the first result and create nothing new.",
    ),
]


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = raw.partition(":")
        number = int(value)
        if prefix != "id" or not 0 < number <= MAX_ROW_ID:
            raise ValueError
        return number
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_cursor", "The cursor is not one this API gave out") from exc


async def metrics_reader(request: Request) -> str:
    """A Prometheus scraper (bearer `OPSDESK_METRICS_TOKEN`) or the admin key. Compared with
    the configured keys only, never the database: metrics matter most when it is away."""
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise ApiError(401, "unauthorized", "Missing bearer key")
    settings = get_settings()
    if settings.metrics_token and hmac.compare_digest(
        key.encode(), settings.metrics_token.encode()
    ):
        return "metrics-token"
    principal = configured_principal(settings=settings, key=key)
    if principal is None:
        raise ApiError(401, "unauthorized", "Unknown or revoked key")
    if principal.role != "admin":
        raise ApiError(403, "forbidden", "Metrics need the metrics token or the admin key")
    return principal.name


MetricsReader = Annotated[str, Depends(metrics_reader)]
