"""The API document of an RMA, read with two plain queries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from api.ops.orders.models import Order, OrderLine
from api.ops.orders.presenter import _money, _time
from api.ops.returns.enums import RMA_STATUS_TEXT, RmaStatus
from api.ops.returns.models import Rma, RmaLine
from api.ops.returns.policy import ReturnPolicy

_HEAD = select(*Rma.__table__.c, Order.number.label("order_number")).join(
    Order, Order.id == Rma.order_id
)
HEAD_BY_NUMBER = _HEAD.where(Rma.rma_number == bindparam("rma_number"))
_LINES = (
    select(
        RmaLine.sku,
        OrderLine.product_name,
        RmaLine.quantity,
        RmaLine.unit_price,
        RmaLine.reason,
        RmaLine.exchange_sku,
        RmaLine.disposition,
    )
    .join(OrderLine, OrderLine.id == RmaLine.order_line_id)
    .where(RmaLine.rma_id == bindparam("rma_id"))
    .order_by(RmaLine.id)
)


def document(db_session: Session, rma: Any, order_number: int, policy: ReturnPolicy) -> dict:
    """`rma` is an Rma row (columns as attributes)."""
    conn = db_session.connection()
    status = RmaStatus(rma.status)
    label = None
    if rma.label_number and rma.label_expires_at:
        label = {
            "label_number": rma.label_number,
            "carrier": rma.label_carrier or policy.label_carrier,
            "url": f"/labels/{rma.rma_number}.pdf",
            "expires_at": _time(rma.label_expires_at),
        }
    if label and status == RmaStatus.label_issued:
        expires = rma.label_expires_at
        instructions = (
            f"Pack the items {policy.condition_rules['default']}, attach the prepaid "
            f"{label['carrier']} label {label['label_number']} and drop the parcel at any "
            f"{label['carrier']} location by {expires:%B} {expires.day}."
        )
    else:
        instructions = f"This return is {RMA_STATUS_TEXT[status]}."
    fees = rma.return_shipping_fee + rma.restocking_fee
    return {
        "rma_number": rma.rma_number,
        "order_number": str(order_number),
        "status": rma.status,
        "status_text": RMA_STATUS_TEXT[status],
        "resolution": rma.resolution,
        "lines": [
            {
                "sku": ln.sku,
                "product_name": ln.product_name,
                "quantity": ln.quantity,
                "unit_price": _money(ln.unit_price),
                "reason": ln.reason,
                "exchange_sku": ln.exchange_sku,
                "disposition": ln.disposition,
            }
            for ln in conn.execute(_LINES, {"rma_id": rma.id})
        ],
        "items_amount": _money(rma.items_amount),
        "fees": {
            "return_shipping": _money(rma.return_shipping_fee),
            "restocking": _money(rma.restocking_fee),
            "total": _money(fees),
        },
        "refund_amount": _money(rma.refund_amount),
        "label": label,
        "return_by": _time(rma.label_expires_at),
        "instructions": instructions,
        "created_at": _time(rma.created_at),
        "updated_at": _time(rma.updated_at),
    }


def by_number(db_session: Session, rma_number: str, policy: ReturnPolicy) -> dict | None:
    row = db_session.connection().execute(HEAD_BY_NUMBER, {"rma_number": rma_number}).first()
    return document(db_session, row, row.order_number, policy) if row else None


def of(db_session: Session, rma: Rma, policy: ReturnPolicy) -> dict:
    db_session.flush()
    return document(db_session, rma, rma.order.number, policy)
