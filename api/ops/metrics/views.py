"""Routes of /api/v1/metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.db import utcnow
from api.deps import DbSession, Staff
from api.errors import ApiError
from api.ops.metrics import service

router = APIRouter(prefix="/metrics", tags=["metrics"])


@router.get("/kpis")
def get_kpis(
    db: DbSession,
    _who: Staff,
    since: Annotated[datetime | None, Query(description="ISO time; default 30 days ago")] = None,
) -> dict[str, Any]:
    """Order accuracy, on-time delivery, cycle time, backorder rate, return rate by reason,
    first response and resolution time, bot containment and escalation rates."""
    start = since or utcnow() - timedelta(days=30)
    try:
        start = start.replace(tzinfo=UTC) if start.tzinfo is None else start.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00 has no UTC time
        raise ApiError(422, "invalid_since", "`since` is out of range") from None
    return service.kpis(db_session=db, since=start)
