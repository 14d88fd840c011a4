"""The team lead's figures for a period: the ops API's KPIs plus the breakdowns the console
charts (backlog by priority, escalations by reason, returns by reason and disposition,
tickets per day), and their CSV export."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.ops.metrics import service as metrics
from api.ops.orders.models import Order
from api.ops.returns.models import Rma, RmaLine
from api.ops.tickets.models import Ticket
from api.ops.tickets.service import Priority, TicketStatus

PERIODS = {"7": "Last 7 days", "30": "Last 30 days", "90": "Last 90 days", "365": "Last year"}


@dataclass
class Bar:
    label: str
    value: float
    text: str  # the value as shown


@dataclass
class Report:
    since: datetime
    days: int
    figures: dict[str, Any]
    headline: list[tuple[str, str, str]]  # (name, value, what it means)
    backlog_by_priority: list[Bar]
    escalations_by_reason: list[Bar]
    returns_by_reason: list[Bar]
    returns_by_disposition: list[Bar]
    tickets_per_day: list[Bar]
    computed_at: datetime


def _pct(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio * 100:.1f}%"


def _hours(hours: float | None) -> str:
    if hours is None:
        return "—"
    if hours * 60 < 1:
        return f"{hours * 3600:.0f} s"
    return f"{hours * 60:.0f} min" if hours < 1 else f"{hours:.1f} h"


def report(*, db_session: Session, since: datetime, days: int) -> Report:
    db = db_session
    figures = metrics.kpis(db_session=db, since=since)
    service, orders, returns = figures["service"], figures["orders"], figures["returns"]
    backlog = dict(
        db.execute(
            select(Ticket.priority, func.count(Ticket.id))
            .where(Ticket.status != TicketStatus.resolved)
            .group_by(Ticket.priority)
        ).all()
    )
    escalations = db.execute(
        select(Ticket.reason, func.count(Ticket.id))
        .where(Ticket.created_at >= since)
        .group_by(Ticket.reason)
        .order_by(func.count(Ticket.id).desc())
    ).all()
    by_reason = db.execute(
        select(RmaLine.reason, func.sum(RmaLine.quantity))
        .join(Rma, Rma.id == RmaLine.rma_id)
        .join(Order, Order.id == Rma.order_id)
        .where(Order.placed_at >= since)
        .group_by(RmaLine.reason)
        .order_by(func.sum(RmaLine.quantity).desc())
    ).all()
    by_disposition = db.execute(
        select(RmaLine.disposition, func.sum(RmaLine.quantity))
        .join(Rma, Rma.id == RmaLine.rma_id)
        .join(Order, Order.id == Rma.order_id)
        .where(Order.placed_at >= since, RmaLine.disposition.is_not(None))
        .group_by(RmaLine.disposition)
    ).all()
    day = func.date(Ticket.created_at)
    per_day: dict[date, int] = {
        d if isinstance(d, date) else date.fromisoformat(str(d)): int(n)
        for d, n in db.execute(
            select(day, func.count(Ticket.id)).where(Ticket.created_at >= since).group_by(day)
        ).all()
    }
    start = since.date()
    span = min(days, 90)
    day_list = [start + timedelta(days=i) for i in range(max(days - span, 0), days + 1)]
    headline = [
        (
            "First response time",
            _hours(service["first_response_time_hours"]),
            "average, handoff to a person's first reply",
        ),
        (
            "Resolution time",
            _hours(service["resolution_time_hours"]),
            "average, handoff to resolved",
        ),
        (
            "Bot containment",
            _pct(service["bot_containment_rate"]),
            f"{service['conversations'] - service['escalated_conversations']} of "
            f"{service['conversations']} conversations finished without a person",
        ),
        ("Open backlog", str(service["open_tickets"]), "tickets not resolved, all time"),
        ("SLA breaches", str(service["sla_breaches"]), "first reply after the SLA due time"),
        (
            "On-time delivery",
            _pct(orders["on_time_delivery_rate"]),
            "delivered by the promised date",
        ),
        (
            "Order accuracy",
            _pct(orders["order_accuracy"]),
            "delivered orders without a store-fault return",
        ),
        ("Return rate", _pct(returns["return_rate"]), "units returned of units delivered"),
    ]
    return Report(
        since=since,
        days=days,
        figures=figures,
        headline=headline,
        backlog_by_priority=[
            Bar(p.value, float(backlog.get(p.value, 0)), str(backlog.get(p.value, 0)))
            for p in reversed(list(Priority))
        ],
        escalations_by_reason=[Bar(r.replace("_", " "), float(n), str(n)) for r, n in escalations],
        returns_by_reason=[Bar(r.replace("_", " "), float(n), str(n)) for r, n in by_reason],
        returns_by_disposition=[
            Bar(str(d).replace("_", " "), float(n), str(n)) for d, n in by_disposition
        ],
        computed_at=datetime.now(since.tzinfo),
        tickets_per_day=[
            Bar(d.strftime("%b %-d"), float(per_day.get(d, 0)), str(per_day.get(d, 0)))
            for d in day_list
        ],
    )


def as_csv(report: Report) -> str:
    """One row per figure: section, name, value."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "name", "value"])
    writer.writerow(["period", "since", report.since.isoformat()])
    for section in ("orders", "returns", "service"):
        for name, value in report.figures[section].items():
            if isinstance(value, dict):
                for sub, sub_value in value.items():
                    writer.writerow([section, f"{name}.{sub}", sub_value])
            else:
                writer.writerow([section, name, "" if value is None else value])
    for section, bars in (
        ("backlog_by_priority", report.backlog_by_priority),
        ("escalations_by_reason", report.escalations_by_reason),
        ("returns_by_reason", report.returns_by_reason),
        ("returns_by_disposition", report.returns_by_disposition),
        ("tickets_per_day", report.tickets_per_day),
    ):
        for bar in bars:
            writer.writerow([section, bar.label, bar.text])
    return out.getvalue()
