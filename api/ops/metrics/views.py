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
    since: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=40,
            description="ISO 8601 time, e.g. 2026-11-01T00:00:00Z; default 30 days ago",
            json_schema_extra={"format": "date-time"},
        ),
    ] = None,
) -> dict[str, Any]:
    """Order accuracy, on-time delivery, cycle time, backorder rate, return rate by reason,
    first response and resolution time, bot containment and escalation rates."""
    try:
        start = datetime.fromisoformat(since) if since else utcnow() - timedelta(days=30)
        start = start.replace(tzinfo=UTC) if start.tzinfo is None else start.astimezone(UTC)
    except ValueError:  # only ISO 8601: "0.5" is not a time, whatever a parser makes of it
        raise ApiError(422, "invalid_since", "`since` is not an ISO 8601 time") from None
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00 has no UTC time
        raise ApiError(422, "invalid_since", "`since` is out of range") from None
    return service.kpis(db_session=db, since=start)
