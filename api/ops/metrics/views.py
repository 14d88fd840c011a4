"""Routes of /api/v1/metrics."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.db import utcnow
from api.deps import DbSession, Staff
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
    if start.tzinfo is None:
        start = start.replace(tzinfo=utcnow().tzinfo)
    return service.kpis(db_session=db, since=start)
