"""Routes of /api/v1/metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.db import utcnow
from api.deps import DbSession, Lead, Staff
from api.errors import ApiError
from api.ops.metrics import returns, schemas, service
from api.settings import get_settings

router = APIRouter(prefix="/metrics", tags=["metrics"])

DEFAULT_RETURNS_DAYS = 90


def _time_query(example: str, default: str) -> Any:
    return Query(
        min_length=1,
        max_length=40,
        description=f"ISO 8601 time or date, e.g. {example}; default {default}",
        json_schema_extra={"format": "date-time"},
    )


def parse_time(name: str, value: str) -> datetime:
    """An ISO 8601 time (a date is its midnight) in UTC; 422 `invalid_<name>` otherwise."""
    try:
        found = datetime.fromisoformat(value)
        return found.replace(tzinfo=UTC) if found.tzinfo is None else found.astimezone(UTC)
    except ValueError:  # only ISO 8601: "0.5" is not a time, whatever a parser makes of it
        raise ApiError(422, f"invalid_{name}", f"`{name}` is not an ISO 8601 time") from None
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00 has no UTC time
        raise ApiError(422, f"invalid_{name}", f"`{name}` is out of range") from None


@router.get("/kpis")
def get_kpis(
    db: DbSession,
    _who: Staff,
    since: Annotated[str | None, _time_query("2026-11-01T00:00:00Z", "30 days ago")] = None,
) -> dict[str, Any]:
    """Order accuracy, on-time delivery, cycle time, backorder rate, return rate by reason,
    first response and resolution time, bot containment and escalation rates."""
    start = parse_time("since", since) if since else utcnow() - timedelta(days=30)
    return service.kpis(db_session=db, since=start)


@router.get(
    "/returns",
    response_model=schemas.ReturnsReportView,
    responses={422: {"description": "`since` or `until` is not a time, or until <= since"}},
)
def get_returns_report(
    db: DbSession,
    _who: Lead,
    since: Annotated[
        str | None, _time_query("2026-09-01", f"{DEFAULT_RETURNS_DAYS} days before until")
    ] = None,
    until: Annotated[str | None, _time_query("2026-12-01", "now")] = None,
) -> schemas.ReturnsReportView:
    """What returns teach (the operations lead's report: a `lead` or `admin` key): for the
    orders placed in [since, until), return rate and reasons per product, size, colour and SKU,
    and the flagged patterns (a defect rate or "not as described" above its threshold, a size
    returned as too small or too large far more than the product's other sizes), with the
    thresholds applied."""
    end = parse_time("until", until) if until else utcnow()
    try:
        start = parse_time("since", since) if since else end - timedelta(days=DEFAULT_RETURNS_DAYS)
    except OverflowError:  # until=0001-01-02: no default since before it
        raise ApiError(422, "invalid_until", "`until` is out of range") from None
    if end <= start:
        raise ApiError(422, "invalid_period", "`until` must be after `since`")
    limits = returns.Thresholds.of(get_settings())
    return schemas.report_view(
        returns.report(db_session=db, since=start, until=end, thresholds=limits)
    )
