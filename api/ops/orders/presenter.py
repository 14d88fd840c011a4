"""Build the API views of an order from its rows."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.ops.audit.models import AuditEntry
from api.ops.catalog.service import variant_facts
from api.ops.orders import schemas
from api.ops.orders.models import Order
from api.ops.orders.status import CANCELLABLE, STATUS_TEXT, OrderStatus
from api.ops.returns.models import Rma

TRACKING_URLS = {
    "UPS": "https://www.ups.com/track?tracknum={}",
    "USPS": "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
    "FedEx": "https://www.fedex.com/fedextrack/?trknbr={}",
    "DHL": "https://www.dhl.com/us-en/home/tracking.html?tracking-id={}",
}


def tracking_url(carrier: str, tracking_number: str) -> str:
    return TRACKING_URLS.get(carrier, "https://parcelsapp.com/en/tracking/{}").format(
        tracking_number
    )


def _fields(db_session: Session, order: Order) -> dict:
    facts = variant_facts(db_session=db_session, skus=[line.sku for line in order.lines])
    returns = db_session.execute(
        select(Rma.rma_number, Rma.status).where(Rma.order_id == order.id).order_by(Rma.id)
    ).all()
    lines = []
    for line in order.lines:
        fact = facts.get(line.sku)
        lines.append(
            schemas.LineView(
                sku=line.sku,
                style=fact.style if fact else None,
                product_name=line.product_name,
                size=fact.size if fact else None,
                colour=fact.colour if fact else None,
                quantity=line.quantity,
                unit_price=line.unit_price,
                returned_quantity=line.returned_quantity,
                returnable_quantity=line.quantity - line.returned_quantity,
                backordered=line.backordered,
                final_sale=bool(fact and fact.final_sale),
                personalized=bool(fact and fact.personalized),
            )
        )
    return dict(
        order_number=str(order.number),
        status=order.status,
        status_text=STATUS_TEXT[OrderStatus(order.status)],
        placed_at=order.placed_at,
        currency=order.currency,
        total=order.total,
        can_cancel=OrderStatus(order.status) in CANCELLABLE,
        promised_delivery_date=order.promised_delivery_date,
        delivered_at=order.delivered_at,
        ship_to=schemas.ShipTo(
            city=order.ship_city, region=order.ship_region, country=order.ship_country
        ),
        lines=lines,
        payments=[
            schemas.PaymentView(
                method=p.method,
                card_brand=p.card_brand,
                card_last4=p.card_last4,
                amount=p.amount,
                status=p.status,
            )
            for p in order.payments
        ],
        shipments=[
            schemas.ShipmentView(
                carrier=s.carrier,
                service=s.service,
                tracking_number=s.tracking_number,
                tracking_url=tracking_url(s.carrier, s.tracking_number),
                status=s.status,
                promised_delivery_date=s.promised_delivery_date,
                shipped_at=s.shipped_at,
                delivered_at=s.delivered_at,
                events=[
                    schemas.TrackingEventView(
                        occurred_at=e.occurred_at,
                        status=e.status,
                        description=e.description,
                        location=e.location,
                    )
                    for e in s.events
                ],
            )
            for s in order.shipments
        ],
        returns=[schemas.ReturnRef(rma_number=n, status=st) for n, st in returns],
    )


def verified_view(db_session: Session, order: Order) -> schemas.VerifiedOrder:
    return schemas.VerifiedOrder(
        **_fields(db_session, order),
        customer=schemas.CustomerSummary(
            first_name=order.customer.first_name, email=order.customer.email
        ),
    )


def full_view(db_session: Session, order: Order) -> schemas.FullOrder:
    history = db_session.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity_type == "order", AuditEntry.entity_id == str(order.number))
        .order_by(AuditEntry.id)
    )
    c = order.customer
    return schemas.FullOrder(
        **_fields(db_session, order),
        customer=schemas.CustomerFull(
            first_name=c.first_name, last_name=c.last_name, email=c.email, phone=c.phone
        ),
        shipping_address=schemas.ShippingAddress(
            name=order.ship_name,
            line1=order.ship_line1,
            city=order.ship_city,
            region=order.ship_region,
            postal_code=order.ship_postal_code,
            country=order.ship_country,
        ),
        subtotal=order.subtotal,
        shipping_fee=order.shipping_fee,
        tax=order.tax,
        history=[
            schemas.AuditView(
                action=h.action,
                from_state=h.from_state,
                to_state=h.to_state,
                actor=h.actor,
                created_at=h.created_at,
            )
            for h in history
        ],
    )
