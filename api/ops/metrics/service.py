"""Operations and service KPIs over a period: what an operations lead watches."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from api.ops.conversations.models import Conversation
from api.ops.orders.models import Order, OrderLine, Shipment
from api.ops.returns.models import Rma, RmaLine
from api.ops.tickets.models import Ticket

STORE_FAULT_REASONS = ("wrong_item", "not_as_described", "defective")


def _ratio(part: float | int | None, whole: float | int | None) -> float | None:
    return round(float(part or 0) / float(whole), 4) if whole else None


def _seconds_between(db: Session, start: Any, end: Any) -> Any:
    """`end - start` in seconds, computed by the database."""
    if db.get_bind().dialect.name == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 86400.0
    return func.extract("epoch", end - start)


def _avg_hours(db: Session, start: Any, end: Any, *where: Any) -> float | None:
    """The average of `end - start` in hours, in one aggregate (no rows to Python)."""
    seconds = db.scalar(
        select(func.avg(_seconds_between(db, start, end))).where(
            start.is_not(None), end.is_not(None), *where
        )
    )
    return None if seconds is None else round(float(seconds) / 3600, 2)


def kpis(*, db_session: Session, since: datetime) -> dict[str, Any]:
    db = db_session
    orders_placed = db.scalar(select(func.count(Order.id)).where(Order.placed_at >= since)) or 0
    delivered_q = select(Order.id).where(Order.placed_at >= since, Order.delivered_at.is_not(None))
    delivered = db.scalar(select(func.count()).select_from(delivered_q.subquery())) or 0
    bad_orders = (
        db.scalar(
            select(func.count(func.distinct(Rma.order_id)))
            .join(RmaLine, RmaLine.rma_id == Rma.id)
            .join(Order, Order.id == Rma.order_id)
            .where(Order.placed_at >= since, RmaLine.reason.in_(STORE_FAULT_REASONS))
        )
        or 0
    )
    on_time = (
        db.scalar(
            select(func.count(Shipment.id))
            .join(Order, Order.id == Shipment.order_id)
            .where(
                Order.placed_at >= since,
                Shipment.delivered_at.is_not(None),
                Shipment.promised_delivery_date.is_not(None),
                func.date(Shipment.delivered_at) <= Shipment.promised_delivery_date,
            )
        )
        or 0
    )
    shipped_delivered = (
        db.scalar(
            select(func.count(Shipment.id))
            .join(Order, Order.id == Shipment.order_id)
            .where(Order.placed_at >= since, Shipment.delivered_at.is_not(None))
        )
        or 0
    )
    backordered = (
        db.scalar(
            select(func.count(func.distinct(OrderLine.order_id)))
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.placed_at >= since, OrderLine.backordered.is_(True))
        )
        or 0
    )
    units_delivered = (
        db.scalar(
            select(func.coalesce(func.sum(OrderLine.quantity), 0))
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.placed_at >= since, Order.delivered_at.is_not(None))
        )
        or 0
    )
    by_reason = dict(
        db.execute(
            select(RmaLine.reason, func.sum(RmaLine.quantity))
            .join(Rma, Rma.id == RmaLine.rma_id)
            .join(Order, Order.id == Rma.order_id)
            .where(
                Order.placed_at >= since, Rma.status.notin_(("cancelled", "expired", "rejected"))
            )
            .group_by(RmaLine.reason)
        ).all()
    )
    returned_units = sum(int(v) for v in by_reason.values())
    conversations = (
        db.scalar(select(func.count(Conversation.id)).where(Conversation.created_at >= since)) or 0
    )
    escalated = (
        db.scalar(
            select(func.count(func.distinct(Ticket.conversation_id))).where(
                Ticket.created_at >= since, Ticket.conversation_id.is_not(None)
            )
        )
        or 0
    )
    tickets_open = db.scalar(select(func.count(Ticket.id)).where(Ticket.status != "resolved")) or 0
    return {
        "since": since.isoformat(),
        "orders": {
            "placed": orders_placed,
            "delivered": delivered,
            "order_accuracy": _ratio(delivered - bad_orders, delivered) if delivered else None,
            "on_time_delivery_rate": _ratio(on_time, shipped_delivered),
            "order_cycle_time_hours": _avg_hours(
                db, Order.placed_at, Order.delivered_at, Order.placed_at >= since
            ),
            "backorder_rate": _ratio(backordered, orders_placed),
        },
        "returns": {
            "return_rate": _ratio(returned_units, units_delivered),
            "return_rate_by_reason": {
                reason: _ratio(int(qty), units_delivered)
                for reason, qty in sorted(by_reason.items())
            },
        },
        "service": {
            "conversations": conversations,
            "escalated_conversations": escalated,
            "escalation_rate": _ratio(escalated, conversations),
            "bot_containment_rate": _ratio(conversations - escalated, conversations)
            if conversations
            else None,
            "open_tickets": tickets_open,
            "first_response_time_hours": _avg_hours(
                db, Ticket.created_at, Ticket.first_response_at, Ticket.created_at >= since
            ),
            "resolution_time_hours": _avg_hours(
                db, Ticket.created_at, Ticket.resolved_at, Ticket.created_at >= since
            ),
            "sla_breaches": db.scalar(
                select(func.count(Ticket.id)).where(
                    Ticket.created_at >= since,
                    and_(
                        Ticket.first_response_at.is_not(None),
                        Ticket.first_response_at > Ticket.sla_due_at,
                    ),
                )
            )
            or 0,
        },
    }
