"""The API documents of an order, read with a handful of plain indexed queries (no ORM
loading): the customer lookup is the hottest path of the assistant."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from api.ops.audit.models import AuditEntry
from api.ops.catalog.service import variant_facts
from api.ops.customers.models import Customer
from api.ops.orders.models import Order, OrderLine, Payment, Shipment, TrackingEvent
from api.ops.orders.status import CANCELLABLE, STATUS_TEXT, OrderStatus
from api.ops.returns.models import Rma

TRACKING_URLS = {
    "UPS": "https://www.ups.com/track?tracknum={}",
    "USPS": "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
    "FedEx": "https://www.fedex.com/fedextrack/?trknbr={}",
    "DHL": "https://www.dhl.com/us-en/home/tracking.html?tracking-id={}",
}

_HEAD = select(
    Order.id,
    Order.number,
    Order.status,
    Order.placed_at,
    Order.currency,
    Order.subtotal,
    Order.shipping_fee,
    Order.tax,
    Order.total,
    Order.ship_name,
    Order.ship_line1,
    Order.ship_city,
    Order.ship_region,
    Order.ship_postal_code,
    Order.ship_country,
    Order.promised_delivery_date,
    Order.delivered_at,
    Customer.email,
    Customer.first_name,
    Customer.last_name,
    Customer.phone,
).join(Customer, Customer.id == Order.customer_id)
HEAD_BY_NUMBER = _HEAD.where(Order.number == bindparam("number"))
HEAD_BY_ID = _HEAD.where(Order.id == bindparam("order_id"))
_LINES = (
    select(
        OrderLine.sku,
        OrderLine.product_name,
        OrderLine.quantity,
        OrderLine.unit_price,
        OrderLine.returned_quantity,
        OrderLine.backordered,
    )
    .where(OrderLine.order_id == bindparam("order_id"))
    .order_by(OrderLine.id)
)
_PAYMENTS = (
    select(Payment.method, Payment.card_brand, Payment.card_last4, Payment.amount, Payment.status)
    .where(Payment.order_id == bindparam("order_id"))
    .order_by(Payment.id)
)
_SHIPMENTS = (
    select(
        Shipment.id,
        Shipment.carrier,
        Shipment.service,
        Shipment.tracking_number,
        Shipment.status,
        Shipment.promised_delivery_date,
        Shipment.shipped_at,
        Shipment.delivered_at,
    )
    .where(Shipment.order_id == bindparam("order_id"))
    .order_by(Shipment.id)
)
_EVENTS = (
    select(
        TrackingEvent.shipment_id,
        TrackingEvent.occurred_at,
        TrackingEvent.status,
        TrackingEvent.description,
        TrackingEvent.location,
    )
    .join(Shipment, Shipment.id == TrackingEvent.shipment_id)
    .where(Shipment.order_id == bindparam("order_id"))
    .order_by(TrackingEvent.occurred_at, TrackingEvent.id)
)
_RETURNS = (
    select(Rma.rma_number, Rma.status).where(Rma.order_id == bindparam("order_id")).order_by(Rma.id)
)


def tracking_url(carrier: str, tracking_number: str) -> str:
    return TRACKING_URLS.get(carrier, "https://parcelsapp.com/en/tracking/{}").format(
        tracking_number
    )


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def document(db_session: Session, head: Any, *, full: bool) -> dict[str, Any]:
    """The order as JSON-ready data. `head` is a row of HEAD_BY_NUMBER / HEAD_BY_ID.
    The verified (customer) view leaves out the street address, the phone and the history."""
    conn: Connection = db_session.connection()
    params = {"order_id": head.id}
    lines = conn.execute(_LINES, params).all()
    facts = variant_facts(db_session=db_session, skus=[ln.sku for ln in lines])
    events: dict[int, list[dict[str, Any]]] = {}
    for e in conn.execute(_EVENTS, params):
        events.setdefault(e.shipment_id, []).append(
            {
                "occurred_at": _time(e.occurred_at),
                "status": e.status,
                "description": e.description,
                "location": e.location,
            }
        )
    status = OrderStatus(head.status)
    doc: dict[str, Any] = {
        "order_number": str(head.number),
        "status": head.status,
        "status_text": STATUS_TEXT[status],
        "placed_at": _time(head.placed_at),
        "currency": head.currency,
        "total": _money(head.total),
        "can_cancel": status in CANCELLABLE,
        "promised_delivery_date": _day(head.promised_delivery_date),
        "delivered_at": _time(head.delivered_at),
        "customer": {"first_name": head.first_name, "email": head.email},
        "ship_to": {
            "city": head.ship_city,
            "region": head.ship_region,
            "country": head.ship_country,
        },
        "lines": [
            {
                "sku": ln.sku,
                "style": facts[ln.sku].style if ln.sku in facts else None,
                "product_name": ln.product_name,
                "size": facts[ln.sku].size if ln.sku in facts else None,
                "colour": facts[ln.sku].colour if ln.sku in facts else None,
                "quantity": ln.quantity,
                "unit_price": _money(ln.unit_price),
                "returned_quantity": ln.returned_quantity,
                "returnable_quantity": ln.quantity - ln.returned_quantity,
                "backordered": bool(ln.backordered),
                "final_sale": bool(ln.sku in facts and facts[ln.sku].final_sale),
                "personalized": bool(ln.sku in facts and facts[ln.sku].personalized),
            }
            for ln in lines
        ],
        "payments": [
            {
                "method": p.method,
                "card_brand": p.card_brand,
                "card_last4": p.card_last4,
                "amount": _money(p.amount),
                "status": p.status,
            }
            for p in conn.execute(_PAYMENTS, params)
        ],
        "shipments": [
            {
                "carrier": s.carrier,
                "service": s.service,
                "tracking_number": s.tracking_number,
                "tracking_url": tracking_url(s.carrier, s.tracking_number),
                "status": s.status,
                "promised_delivery_date": _day(s.promised_delivery_date),
                "shipped_at": _time(s.shipped_at),
                "delivered_at": _time(s.delivered_at),
                "events": events.get(s.id, []),
            }
            for s in conn.execute(_SHIPMENTS, params)
        ],
        "returns": [
            {"rma_number": r.rma_number, "status": r.status} for r in conn.execute(_RETURNS, params)
        ],
    }
    if full:
        doc["customer"].update(last_name=head.last_name, phone=head.phone)
        doc["shipping_address"] = {
            "name": head.ship_name,
            "line1": head.ship_line1,
            "city": head.ship_city,
            "region": head.ship_region,
            "postal_code": head.ship_postal_code,
            "country": head.ship_country,
        }
        doc.update(
            subtotal=_money(head.subtotal),
            shipping_fee=_money(head.shipping_fee),
            tax=_money(head.tax),
        )
        history = db_session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity_type == "order", AuditEntry.entity_id == str(head.number))
            .order_by(AuditEntry.id)
        )
        doc["history"] = [
            {
                "action": h.action,
                "from_state": h.from_state,
                "to_state": h.to_state,
                "actor": h.actor,
                "created_at": _time(h.created_at),
            }
            for h in history
        ]
    return doc


def head_by_number(db_session: Session, number: int) -> Any:
    return db_session.connection().execute(HEAD_BY_NUMBER, {"number": number}).first()


def order_document(db_session: Session, order: Order, *, full: bool) -> dict[str, Any]:
    """The document of an order the caller already holds (after a change)."""
    db_session.flush()
    head = db_session.connection().execute(HEAD_BY_ID, {"order_id": order.id}).one()
    return document(db_session, head, full=full)
