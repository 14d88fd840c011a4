"""The KPIs page and its CSV."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import (
    HTMLResponse,
    PlainTextResponse,
)
from sqlalchemy.orm import Session

from api.console import kpis
from api.console.web import (
    Me,
    render_page,
)
from api.db import utcnow
from api.deps import DbSession

router = APIRouter(prefix="/console", include_in_schema=False)


# -- KPIs -----------------------------------------------------------------------------------


def _period(days: str) -> tuple[datetime, int]:
    span = int(days) if days in kpis.PERIODS else 30
    return utcnow() - timedelta(days=span), span


# A period's figures are computed at most every KPI_SECONDS: the page is a dashboard, and
# each computation reads every order, return and ticket of the period.
KPI_SECONDS = 30.0
_reports: dict[int, tuple[float, kpis.Report]] = {}


def _report(db: Session, days: str) -> kpis.Report:
    since, span = _period(days)
    kept = _reports.get(span)
    if kept is not None and time.monotonic() - kept[0] < KPI_SECONDS:
        return kept[1]
    found = kpis.report(db_session=db, since=since, days=span)
    _reports[span] = (time.monotonic(), found)
    return found


@router.get("/kpis", response_class=HTMLResponse)
def kpis_page(request: Request, db: DbSession, me: Me, days: str = "30") -> HTMLResponse:
    found = _report(db, days)
    span = found.days
    return render_page(
        request, "kpis.html", me=me, report=found, periods=kpis.PERIODS, days=str(span)
    )


@router.get("/kpis.csv")
def kpis_csv(db: DbSession, me: Me, days: str = "30") -> PlainTextResponse:
    found = _report(db, days)
    span = found.days
    return PlainTextResponse(
        kpis.as_csv(found),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="opsdesk-kpis-{span}d.csv"'},
    )
