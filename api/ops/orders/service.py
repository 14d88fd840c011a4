"""Orders: find, verify a customer, change status through the one status machine."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db import utcnow
from api.errors import ApiError
from api.ops.audit import service as audit
from api.ops.customers.models import Customer
from api.ops.inventory import service as inventory
from api.ops.orders.models import Order, VerificationFailure
from api.ops.orders.status import (
    NOT_CANCELLABLE_REASON,
    InvalidTransition,
    OrderStatus,
    check_transition,
)

_DIGITS = re.compile(r"\d+")


def parse_order_number(raw: str) -> int | None:
    """'#10482', 'A-10482', 'order 10 482' -> 10482; None when it holds no usable digits."""
    digits = "".join(_DIGITS.findall(raw or ""))
    if not digits or len(digits) > 12:
        return None
    return int(digits)


def normalize_postal_code(raw: str) -> str:
    code = re.sub(r"[\s-]", "", raw or "").upper()
    # A US ZIP+4 matches its five-digit ZIP.
    return code[:5] if code.isdigit() and len(code) == 9 else code


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


def verify(
    *,
    db_session: Session,
    order_number: str,
    email: str | None,
    postal_code: str | None,
) -> Order | None:
    """The order, if the email or the postal code matches it; None for a wrong one or an
    unknown order alike, so a caller cannot tell which order numbers exist."""
    order = get_by_number(db_session=db_session, order_number=order_number)
    if order is None:
        return None
    proven = proof_matches(
        customer_email=order.customer.email,
        ship_postal_code=order.ship_postal_code,
        email=email,
        postal_code=postal_code,
    )
    return order if proven else None


def proof_matches(
    *, customer_email: str, ship_postal_code: str, email: str | None, postal_code: str | None
) -> bool:
    """Does the email or postal code the customer gave match the order's?"""
    if email and customer_email == email.strip().lower():
        return True
    return bool(
        postal_code
        and normalize_postal_code(ship_postal_code) == normalize_postal_code(postal_code)
    )


def record_failure(*, db_session: Session, conversation_id: str, order_number: int | None) -> None:
    db_session.add(VerificationFailure(conversation_id=conversation_id, order_number=order_number))


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
    """Cancel an order that has not shipped; 409 order_not_cancellable with the reason else."""
    try:
        check_transition(order.status, OrderStatus.cancelled)
    except InvalidTransition as exc:
        why = NOT_CANCELLABLE_REASON.get(OrderStatus(order.status), "it can no longer be cancelled")
        raise ApiError(
            409,
            "order_not_cancellable",
            "The order can't be cancelled",
            f"Order #{order.number} can't be cancelled: {why}.",
            order_status=order.status,
        ) from exc
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
