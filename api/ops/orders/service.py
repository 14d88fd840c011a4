"""Orders: find, verify a customer, change status through the one status machine."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db import utcnow
from api.errors import ApiError
from api.ops.audit import service as audit
from api.ops.customers.models import Customer
from api.ops.inventory import service as inventory
from api.ops.orders.models import Order
from api.ops.orders.status import (
    NEXT_STEP_TEXT,
    InvalidTransition,
    OrderStatus,
    cancel_refusal,
    check_transition,
)
from opsdesk_ids import parse_order_number


def get_by_number(*, db_session: Session, order_number: str | int) -> Order | None:
    """One order by its number, in any of the ways customers write it."""
    number = order_number if isinstance(order_number, int) else parse_order_number(order_number)
    if number is None:
        return None
    return db_session.scalar(select(Order).where(Order.number == number))


def get_by_number_or_raise(*, db_session: Session, order_number: str | int) -> Order:
    order = get_by_number(db_session=db_session, order_number=order_number)
    if order is None:
        raise ApiError(404, "order_not_found", "Order not found")
    return order


def transition(
    *, db_session: Session, order: Order, to: str, actor: str, note: str | None = None
) -> None:
    """Move an order to `to` if the status machine allows it, with its side effects and an
    audit entry. Raises 409 invalid_transition otherwise."""
    try:
        target = check_transition(order.status, to)
    except InvalidTransition as exc:
        raise ApiError(409, "invalid_transition", "Status change not allowed", str(exc)) from exc
    previous = order.status
    now = utcnow()
    if target == OrderStatus.cancelled:
        if previous not in (OrderStatus.pending, OrderStatus.backordered):
            for line in order.lines:
                if not line.backordered:
                    inventory.release(
                        db_session=db_session,
                        sku=line.sku,
                        location_code=line.location_code,
                        quantity=line.quantity,
                    )
        order.cancelled_at = now
        for payment in order.payments:
            payment.status = "voided" if payment.status == "authorized" else "refunded"
    elif target == OrderStatus.shipped and previous == OrderStatus.packed:
        for line in order.lines:
            inventory.ship(
                db_session=db_session,
                sku=line.sku,
                location_code=line.location_code,
                quantity=line.quantity,
            )
    elif target == OrderStatus.delivered:
        order.delivered_at = now
        for shipment in order.shipments:
            shipment.status, shipment.delivered_at = "delivered", now
    order.status = target.value
    audit.record(
        db_session=db_session,
        entity_type="order",
        entity_id=str(order.number),
        action="status_changed",
        actor=actor,
        from_state=previous,
        to_state=target.value,
        detail={"note": note} if note else None,
    )


def cancel(*, db_session: Session, order: Order, actor: str, reason: str) -> None:
    """Cancel an order that has not shipped; 409 order_not_cancellable with the reason else.
    Only the cancellable states count: the status machine also lets staff move a lost parcel
    to cancelled (a refund), which is not the customer's to ask for."""
    refusal = cancel_refusal(order.status)
    if refusal is not None:
        then = NEXT_STEP_TEXT[refusal.next_step]
        raise ApiError(
            409,
            "order_not_cancellable",
            "The order can't be cancelled",
            f"Order #{order.number} can't be cancelled: {refusal.reason}"
            + (f"; {then}." if then else "."),
            order_status=order.status,
            reason_code=refusal.code,
            reason=refusal.reason,
            next_step=refusal.next_step,
        )
    transition(
        db_session=db_session, order=order, to=OrderStatus.cancelled, actor=actor, note=reason
    )


def list_orders(
    *,
    db_session: Session,
    status: str | None,
    customer_email: str | None,
    before_id: int | None,
    limit: int,
) -> list[Order]:
    """Newest first, keyset-paged by id."""
    stmt = select(Order).order_by(Order.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(Order.status == status)
    if customer_email:
        stmt = stmt.join(Customer).where(Customer.email == customer_email.strip().lower())
    if before_id is not None:
        stmt = stmt.where(Order.id < before_id)
    return list(db_session.scalars(stmt))
