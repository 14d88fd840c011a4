"""Returns: RMA creation (eligibility is `assessment.py`), labels, and the RMA lifecycle."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.db import utcnow
from api.errors import ApiError
from api.ops.audit import service as audit
from api.ops.catalog.service import variant_facts
from api.ops.inventory import service as inventory
from api.ops.orders import service as orders
from api.ops.orders.models import Order, OrderLine
from api.ops.orders.status import OrderStatus
from api.ops.returns.assessment import RequestedLine, assess
from api.ops.returns.enums import (
    RELEASING_STATES,
    RMA_TRANSITIONS,
    SETTLEMENT_FOR,
    Disposition,
    Resolution,
    RmaStatus,
)
from api.ops.returns.models import Rma, RmaLine
from api.ops.returns.options import check_exchange_size
from api.ops.returns.policy import (
    ReturnPolicy,
)
from opsdesk_ids import canonical_rma_number, canonical_sku, format_rma_number

RESTOCK_LOCATION = "EAST"


def _claim_units(db_session: Session, line: OrderLine, quantity: int) -> bool:
    """Atomically add units to the line's returned count unless that exceeds what was bought."""
    result = db_session.execute(
        update(OrderLine)
        .where(
            OrderLine.id == line.id, OrderLine.returned_quantity + quantity <= OrderLine.quantity
        )
        .values(returned_quantity=OrderLine.returned_quantity + quantity)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def _release_units(db_session: Session, order_line_id: int, quantity: int) -> None:
    db_session.execute(
        update(OrderLine)
        .where(OrderLine.id == order_line_id, OrderLine.returned_quantity >= quantity)
        .values(returned_quantity=OrderLine.returned_quantity - quantity)
        .execution_options(synchronize_session=False)
    )


def _move(
    db_session: Session, rma: Rma, to: RmaStatus, actor: str, note: str | None = None
) -> None:
    previous = rma.status
    rma.status = to.value
    rma.updated_at = utcnow()
    audit.record(
        db_session=db_session,
        entity_type="rma",
        entity_id=rma.rma_number,
        action="status_changed",
        actor=actor,
        from_state=previous,
        to_state=to.value,
        detail={"note": note} if note else None,
    )


def create(
    *,
    db_session: Session,
    policy: ReturnPolicy,
    order: Order,
    lines: list[RequestedLine],
    resolution: str,
    actor: str,
    conversation_id: str | None = None,
) -> Rma:
    """Create an approved RMA with its label, in the caller's transaction.

    422 return_not_eligible when any line is refused by the policy (or was claimed by a
    concurrent return a moment ago); 409 insufficient_stock for an exchange out of stock;
    422 exchange_one_item for an exchange of several items.
    """
    check_exchange_size(resolution, len(lines))
    found = assess(
        db_session=db_session, policy=policy, order=order, lines=lines, resolution=resolution
    )
    refused = [d for d in found.decisions if not d.eligible]
    if refused:
        raise ApiError(
            422,
            "return_not_eligible",
            "This return is not possible",
            "; ".join(d.reason for d in refused).capitalize() + ".",
            lines=[{"sku": d.sku, "eligible": False, "reason": d.reason} for d in refused],
        )
    facts = variant_facts(
        db_session=db_session, skus=[ln.exchange_sku for ln in lines if ln.exchange_sku]
    )
    now = utcnow()
    rma = Rma(
        rma_number=f"TMP-{uuid.uuid4().hex[:12]}",
        order_id=order.id,
        status=RmaStatus.requested.value,
        resolution=resolution,
        items_amount=found.settlement.items_amount,
        return_shipping_fee=found.settlement.fees.return_shipping,
        restocking_fee=found.settlement.fees.restocking,
        refund_amount=found.settlement.refund_amount,
        conversation_id=conversation_id,
        created_at=now,
        updated_at=now,
    )
    db_session.add(rma)
    db_session.flush()
    rma.rma_number = format_rma_number(rma.id)
    for req in lines:
        sku = canonical_sku(req.sku)
        line = found.order_lines[sku]
        if not _claim_units(db_session, line, req.quantity):
            raise ApiError(
                422,
                "return_not_eligible",
                "This return is not possible",
                f"The {line.product_name} has already been returned.",
            )
        exchange_sku = None
        if resolution == Resolution.exchange and req.exchange_sku:
            exchange_sku = canonical_sku(req.exchange_sku)
            target, original = (
                facts.get(exchange_sku),
                variant_facts(db_session=db_session, skus=[sku]).get(sku),
            )
            if (
                target is None
                or original is None
                or target.style != original.style
                or exchange_sku == sku
            ):
                raise ApiError(
                    422,
                    "invalid_exchange",
                    "Exchange not possible",
                    f"{exchange_sku} is not another size or colour of the {line.product_name}.",
                )
            inventory.reserve(db_session=db_session, sku=exchange_sku, quantity=req.quantity)
        db_session.add(
            RmaLine(
                rma_id=rma.id,
                order_line_id=line.id,
                sku=sku,
                quantity=req.quantity,
                unit_price=line.unit_price,
                reason=req.reason or "other",
                exchange_sku=exchange_sku,
            )
        )
    audit.record(
        db_session=db_session,
        entity_type="rma",
        entity_id=rma.rma_number,
        action="created",
        actor=actor,
        to_state=RmaStatus.requested.value,
    )
    # Every line passed the policy, so the return is approved and the label issued at once.
    _move(db_session, rma, RmaStatus.approved, actor, "all lines within policy")
    _new_label(rma, policy)
    _move(db_session, rma, RmaStatus.label_issued, actor)
    db_session.flush()
    return rma


def _new_label(rma: Rma, policy: ReturnPolicy) -> None:
    rma.label_number = "1Z" + secrets.token_hex(8).upper()
    rma.label_carrier = policy.label_carrier
    rma.label_expires_at = utcnow() + timedelta(days=policy.label_valid_days)


def issue_label(*, db_session: Session, rma: Rma, policy: ReturnPolicy, actor: str) -> None:
    """A prepaid label for an approved return, or a new one in place of the label issued
    (lost, or about to expire): the old label's link stops working. 409 otherwise."""
    if rma.status == RmaStatus.approved:
        _new_label(rma, policy)
        _move(db_session, rma, RmaStatus.label_issued, actor, "label issued")
        return
    if rma.status != RmaStatus.label_issued:
        raise ApiError(
            409,
            "invalid_transition",
            "No label for this return",
            f"a return that is {rma.status} gets no new label",
        )
    previous = rma.label_number
    _new_label(rma, policy)
    rma.updated_at = utcnow()
    audit.record(
        db_session=db_session,
        entity_type="rma",
        entity_id=rma.rma_number,
        action="label_reissued",
        actor=actor,
        from_state=rma.status,
        to_state=rma.status,
        detail={"replaced_label": previous},
    )


def get_by_number(*, db_session: Session, rma_number: str) -> Rma | None:
    """One RMA by number, in any of the ways customers write it."""
    number = canonical_rma_number(rma_number)
    if number is None:
        return None
    return db_session.scalar(select(Rma).where(Rma.rma_number == number))


def get_by_number_or_raise(*, db_session: Session, rma_number: str) -> Rma:
    rma = get_by_number(db_session=db_session, rma_number=rma_number)
    if rma is None:
        raise ApiError(404, "rma_not_found", "Return not found")
    return rma


def transition(
    *,
    db_session: Session,
    rma: Rma,
    to: RmaStatus,
    actor: str,
    note: str | None = None,
    dispositions: dict[str, Disposition] | None = None,
) -> None:
    """Move an RMA along its lifecycle with the side effects each step has."""
    current = RmaStatus(rma.status)
    if to not in RMA_TRANSITIONS[current]:
        raise ApiError(
            409,
            "invalid_transition",
            "Status change not allowed",
            f"a return that is {current.value} cannot become {to.value}",
        )
    if to in SETTLEMENT_FOR.values() and to != SETTLEMENT_FOR[Resolution(rma.resolution)]:
        raise ApiError(
            409,
            "invalid_transition",
            "Status change not allowed",
            f"this return is settled by {rma.resolution}, so it cannot become {to.value}",
        )
    if to == RmaStatus.inspected:
        missing = [ln.sku for ln in rma.lines if not (dispositions or {}).get(ln.sku)]
        if missing:
            raise ApiError(
                422,
                "disposition_required",
                "Every returned SKU needs a disposition",
                f"missing a disposition for: {', '.join(missing)}",
            )
        assert dispositions is not None
        for ln in rma.lines:
            ln.disposition = dispositions[ln.sku].value
            if ln.disposition == Disposition.restock:
                inventory.restock(
                    db_session=db_session,
                    sku=ln.sku,
                    location_code=RESTOCK_LOCATION,
                    quantity=ln.quantity,
                )
    if to in RELEASING_STATES:
        for ln in rma.lines:
            _release_units(db_session, ln.order_line_id, ln.quantity)
            if ln.exchange_sku:
                _release_exchange(db_session, ln.exchange_sku, ln.quantity)
    if to == RmaStatus.exchanged:
        for ln in rma.lines:
            if ln.exchange_sku:
                _ship_exchange(db_session, ln.exchange_sku, ln.quantity)
    _move(db_session, rma, to, actor, note)
    if to in (RmaStatus.refunded, RmaStatus.credited, RmaStatus.exchanged):
        _mark_order_returned_if_complete(db_session, rma, actor)


def _reserved_location(db_session: Session, sku: str, quantity: int) -> str | None:
    for level in inventory.get_levels(db_session=db_session, skus=[sku]):
        if level.reserved >= quantity:
            return level.location_code
    return None


def _release_exchange(db_session: Session, sku: str, quantity: int) -> None:
    location = _reserved_location(db_session, sku, quantity)
    if location:
        inventory.release(db_session=db_session, sku=sku, location_code=location, quantity=quantity)


def _ship_exchange(db_session: Session, sku: str, quantity: int) -> None:
    location = _reserved_location(db_session, sku, quantity)
    if location:
        inventory.ship(db_session=db_session, sku=sku, location_code=location, quantity=quantity)


def _mark_order_returned_if_complete(db_session: Session, rma: Rma, actor: str) -> None:
    order = rma.order
    db_session.flush()
    for line in order.lines:
        db_session.refresh(line)
    if order.status == OrderStatus.delivered and all(
        line.returned_quantity == line.quantity for line in order.lines
    ):
        orders.transition(
            db_session=db_session,
            order=order,
            to=OrderStatus.returned,
            actor=actor,
            note=f"fully returned ({rma.rma_number})",
        )


def list_returns(
    *,
    db_session: Session,
    order_id: int | None,
    status: str | None,
    before_id: int | None,
    limit: int,
) -> list[Rma]:
    stmt = select(Rma).order_by(Rma.id.desc()).limit(limit)
    if order_id is not None:
        stmt = stmt.where(Rma.order_id == order_id)
    if status:
        stmt = stmt.where(Rma.status == status)
    if before_id is not None:
        stmt = stmt.where(Rma.id < before_id)
    return list(db_session.scalars(stmt))
