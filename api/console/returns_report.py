"""The console's returns report (/console/returns): what returns teach about products, for the
operations lead (a `lead` or an admin of the console). The figures are those of GET
/api/v1/metrics/returns (`api/ops/metrics/returns.py`); this module only picks the period,
renders them and exports them as CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse
from sqlalchemy.orm import Session

from api.console.web import PAGE_HEADERS, Me, require_lead, templates
from api.db import utcnow
from api.deps import DbSession
from api.ops.metrics import returns
from api.ops.returns.enums import ReturnReason
from api.settings import get_settings

router = APIRouter(prefix="/console", include_in_schema=False)

PERIODS = {"30": "Last 30 days", "90": "Last 90 days", "365": "Last year"}
DEFAULT_DAYS = 90
REASONS = [r.value for r in ReturnReason]
FLAG_TITLES = {
    "defect_rate": "Defects",
    "not_as_described_rate": "Not as described",
    "size_runs_small": "Runs small",
    "size_runs_large": "Runs large",
}


class BadPeriod(ValueError):
    """The period asked for is not one: the page says why and shows no figures."""


def period(days: str | None, since: str | None, until: str | None) -> tuple[datetime, datetime]:
    """[since, until) in UTC: dates typed in the form (until's whole day included), else the
    last `days` days up to now."""
    if since or until:
        try:
            start = date.fromisoformat(since) if since else None
            end = date.fromisoformat(until) if until else utcnow().date()
        except ValueError:
            raise BadPeriod("Dates are written YYYY-MM-DD, e.g. 2026-11-01.") from None
        if start is None:
            raise BadPeriod("Choose the first day of the period.")
        if end < start:
            raise BadPeriod("The period ends before it starts.")
        if end >= date.max:
            raise BadPeriod("The period ends too far in the future.")
        return (
            datetime.combine(start, time.min, tzinfo=UTC),
            datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC),
        )
    span = int(days) if days in PERIODS else DEFAULT_DAYS
    now = utcnow()
    return now - timedelta(days=span), now


def reasons_text(by_reason: dict[str, int]) -> str:
    ranked = sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0]))
    return " · ".join(f"{reason.replace('_', ' ')} {n}" for reason, n in ranked)


templates.env.globals["reasons_text"] = reasons_text


@router.get("/returns", response_class=HTMLResponse)
def returns_page(
    request: Request,
    db: DbSession,
    me: Me,
    days: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> HTMLResponse:
    require_lead(me)
    form = {"days": days or "", "since": since or "", "until": until or ""}
    try:
        start, end = period(days, since, until)
    except BadPeriod as exc:
        return templates.TemplateResponse(
            request,
            "returns_report.html",
            {"me": me, "report": None, "error": str(exc), "form": form, "periods": PERIODS},
            status_code=422,
            headers=PAGE_HEADERS,
        )
    found = _report(db, start, end)
    if not (since or until):
        form["days"] = days if days in PERIODS else str(DEFAULT_DAYS)
    return templates.TemplateResponse(
        request,
        "returns_report.html",
        {
            "me": me,
            "report": found,
            "form": form,
            "periods": PERIODS,
            "flag_titles": FLAG_TITLES,
            "last_day": end - timedelta(microseconds=1),
            "csv_query": urlencode({k: v for k, v in form.items() if v}),
        },
        headers=PAGE_HEADERS,
    )


@router.get("/returns.csv")
def returns_csv(
    db: DbSession,
    me: Me,
    days: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> PlainTextResponse:
    require_lead(me)
    try:
        start, end = period(days, since, until)
    except BadPeriod as exc:
        return PlainTextResponse(str(exc), status_code=422)
    found = _report(db, start, end)
    name = f"opsdesk-returns-{start.date().isoformat()}-{(end - timedelta(seconds=1)).date()}.csv"
    return PlainTextResponse(
        as_csv(found),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _report(db: Session, start: datetime, end: datetime) -> returns.ReturnsReport:
    limits = returns.Thresholds.of(get_settings())
    return returns.report(db_session=db, since=start, until=end, thresholds=limits)


def thresholds_text(limits: returns.Thresholds) -> list[str]:
    """The thresholds applied, as the page lists them."""
    return [
        f"Defects: at least {limits.defect_rate * 100:g} % of a product's units sold",
        f"Not as described: at least {limits.not_as_described_rate * 100:g} %",
        f"A size runs small or large: returned so {limits.size_skew:g} times as often as the "
        f"product's other sizes, and by at least {limits.size_min_rate * 100:g} % of its units",
        f"Each pattern: at least {limits.min_units} returned units behind it",
    ]


templates.env.globals["thresholds_text"] = thresholds_text


def as_csv(report: returns.ReturnsReport) -> str:
    """One row per product, size, colour and SKU: units, rate, units by reason, flags."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["level", "style", "product", "size", "colour", "sku", "units_sold", "units_returned",
         "return_rate", *REASONS, "flags"]
    )  # fmt: skip

    def row(level: str, p: returns.ProductFigures, f: returns.Figures, **where: str) -> None:
        flags = [
            fl.kind
            for fl in p.flags
            if level == "product" or (level == "size" and fl.size == where.get("size"))
        ]
        writer.writerow(
            [level, p.style, _cell(p.label), where.get("size", ""), where.get("colour", ""),
             where.get("sku", ""), f.units_sold, f.units_returned,
             "" if f.return_rate is None else f.return_rate,
             *(f.by_reason.get(r, 0) for r in REASONS), ";".join(flags)]
        )  # fmt: skip

    for p in report.products:
        row("product", p, p)
        for s in p.sizes:
            row("size", p, s, size=s.label)
        for c in p.colours:
            row("colour", p, c, colour=c.label)
        for v in p.variants:
            row("sku", p, v, sku=v.label)
    return out.getvalue()


def _cell(text: str) -> str:
    """A spreadsheet reads a cell starting with = + - @ as a formula: quote it as text."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text
