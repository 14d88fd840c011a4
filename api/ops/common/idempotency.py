"""Idempotency keys for creates: a retry with the same key returns the first result."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from api import metrics
from api.db import Base, utcnow
from api.errors import ApiError
from api.ops.common.types import UTCDateTime


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("principal", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    principal: Mapped[str] = mapped_column(String(80))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(80))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    response_body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def request_hash(scope: str, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{scope}\n{canonical}".encode()).hexdigest()


def _replay(record: IdempotencyRecord, digest: str) -> tuple[int, dict[str, Any]]:
    if record.request_hash != digest:
        raise ApiError(
            409,
            "idempotency_key_reused",
            "This Idempotency-Key was already used with a different request",
        )
    metrics.idempotent_replay(record.scope)
    return record.status_code, record.response_body


def run_once(
    *,
    db_session: Session,
    principal: str,
    key: str | None,
    scope: str,
    body: Any,
    create: Callable[[], tuple[int, dict[str, Any]]],
) -> tuple[int, dict[str, Any]]:
    """Run `create` and commit, unless this key has run before: then return its first result.

    `create` works in `db_session` without committing; its changes and the record of the key
    commit together, so a retry either sees both or neither.
    """
    if not key:
        result = create()
        db_session.commit()
        return result
    digest = request_hash(scope, body)
    lookup = select(IdempotencyRecord).where(
        IdempotencyRecord.principal == principal, IdempotencyRecord.idempotency_key == key
    )
    existing = db_session.scalar(lookup)
    if existing is not None:
        db_session.rollback()
        return _replay(existing, digest)
    try:
        status_code, response = create()
    except ApiError:
        # The same key may have just committed in a concurrent request (and taken the stock
        # or the returnable units this one wanted): then its result is the answer.
        db_session.rollback()
        winner = db_session.scalar(lookup)
        if winner is None:
            raise
        return _replay(winner, digest)
    db_session.add(
        IdempotencyRecord(
            principal=principal,
            idempotency_key=key,
            scope=scope,
            request_hash=digest,
            status_code=status_code,
            response_body=json.loads(json.dumps(response, default=str)),
        )
    )
    try:
        db_session.commit()
    except IntegrityError:
        # A concurrent request with the same key won the race; answer with its result.
        db_session.rollback()
        winner = db_session.scalar(lookup)
        if winner is None:
            raise
        return _replay(winner, digest)
    return status_code, response
