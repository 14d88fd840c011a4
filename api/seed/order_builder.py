"""Writing the demo orders into the database: customers, lines, payments, shipments with
their tracking, reserved stock, and the demo returns."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.ops.audit import service as audit
from api.ops.customers.models import Customer
from api.ops.inventory.models import InventoryLevel
from api.ops.orders.models import Order, OrderLine, Payment, Shipment, TrackingEvent
from api.ops.orders.status import SHIPPED_STATES
from api.ops.returns.enums import RmaStatus
from api.ops.returns.models import Rma, RmaLine
from api.seed.demo_orders import RMA_HAPPY_PATH, RMA_PATHS, DemoOrder, demo_orders
from api.seed.store import RNG_SEED
from opsdesk_ids import format_rma_number

CARRIER_PREFIX = {"UPS": "1Z", "FedEx": "7", "USPS": "94", "DHL": "JD"}


def _tracking(rng: random.Random, carrier: str) -> str:
    return CARRIER_PREFIX[carrier] + "".join(rng.choice("0123456789") for _ in range(16))


def _at(now: datetime, days_ago: float) -> datetime:
    return now - timedelta(days=days_ago)


def add_customer(
    db: Session, cache: dict[str, Customer], email: str, first: str, last: str
) -> Customer:
    if email not in cache:
        customer = Customer(email=email, first_name=first, last_name=last)
        db.add(customer)
        db.flush()
        cache[email] = customer
    return cache[email]


def make_order(
    db: Session,
    rng: random.Random,
    now: datetime,
    demo: DemoOrder,
    customer: Customer,
    prices: dict[str, tuple[str, Decimal]],
) -> Order:
    placed = _at(now, demo.placed_days_ago + 0.3)
    subtotal = sum((prices[sku][1] * q for sku, q in demo.lines), Decimal("0"))
    shipping = Decimal("0.00") if subtotal >= 75 else Decimal("5.95")
    tax = (subtotal * Decimal("0.08")).quantize(Decimal("0.01"))
    delivered_at = (
        _at(now, demo.delivered_days_ago) if demo.delivered_days_ago is not None else None
    )
    promised = None
    if demo.promised_in_days is not None:
        promised = now.date() + timedelta(days=demo.promised_in_days)
    elif delivered_at:
        promised = delivered_at.date() + timedelta(days=1)
    order = Order(
        number=demo.number,
        customer_id=customer.id,
        status=demo.status,
        placed_at=placed,
        subtotal=subtotal,
        shipping_fee=shipping,
        tax=tax,
        total=subtotal + shipping + tax,
        ship_name=f"{demo.first} {demo.last}",
        ship_line1=f"{rng.randint(10, 999)} Market Street",
        ship_city=demo.city,
        ship_region=demo.region,
        ship_postal_code=demo.postal,
        promised_delivery_date=promised,
        delivered_at=delivered_at,
        cancelled_at=_at(now, demo.placed_days_ago - 0.1) if demo.status == "cancelled" else None,
        updated_at=now,
    )
    db.add(order)
    db.flush()
    open_states = {"paid", "processing", "packed", "backordered"}
    for sku, qty in demo.lines:
        backordered = sku in demo.backordered_skus
        db.add(
            OrderLine(
                order_id=order.id,
                sku=sku,
                product_name=prices[sku][0],
                quantity=qty,
                unit_price=prices[sku][1],
                backordered=backordered,
                location_code="EAST",
            )
        )
        if demo.status in open_states and not backordered:
            db.execute(
                update(InventoryLevel)
                .where(InventoryLevel.sku == sku, InventoryLevel.location_code == "EAST")
                .values(
                    on_hand=InventoryLevel.on_hand + qty, reserved=InventoryLevel.reserved + qty
                )
            )
    brand, last4 = rng.choice([("Visa", "4242"), ("Mastercard", "5454"), ("Amex", "0005")])
    pay_status = {"pending": "authorized", "cancelled": "voided"}.get(demo.status, "captured")
    db.add(
        Payment(
            order_id=order.id,
            method="card",
            card_brand=brand,
            card_last4=last4,
            amount=order.total,
            status=pay_status,
            created_at=placed,
        )
    )
    if demo.status in SHIPPED_STATES:  # the parcel left the warehouse
        shipment = Shipment(
            order_id=order.id,
            carrier=demo.carrier,
            tracking_number=_tracking(rng, demo.carrier),
            status={"delayed": "exception"}.get(
                demo.status, demo.status if demo.status != "shipped" else "in_transit"
            ),
            promised_delivery_date=promised,
            shipped_at=placed + timedelta(hours=20),
            delivered_at=delivered_at,
        )
        db.add(shipment)
        db.flush()
        events = demo.events or [
            (demo.placed_days_ago * 24, "label_created", "Shipping label created", "Newark, NJ"),
            (demo.placed_days_ago * 24 - 20, "in_transit", "Departed facility", "Newark, NJ"),
        ]
        if delivered_at:
            events = [
                *events,
                (
                    (now - delivered_at).total_seconds() / 3600,
                    "delivered",
                    "Delivered, left at front door",
                    demo.city,
                ),
            ]
        for hours_ago, status, text, place in events:
            db.add(
                TrackingEvent(
                    shipment_id=shipment.id,
                    occurred_at=now - timedelta(hours=hours_ago),
                    status=status,
                    description=text,
                    location=place,
                )
            )
    audit.record(
        db_session=db,
        entity_type="order",
        entity_id=str(order.number),
        action="created",
        actor="seed",
        to_state=demo.status,
    )
    return order


def seed_demo_orders(db: Session, prices: dict[str, tuple[str, Decimal]]) -> int:
    rng = random.Random(RNG_SEED + 1)
    now = datetime.combine(datetime.now(UTC).date(), time(15, 0), tzinfo=UTC)
    now = min(now, datetime.now(UTC))
    customers: dict[str, Customer] = {}
    count = 0
    for demo in demo_orders():
        customer = add_customer(db, customers, demo.email, demo.first, demo.last)
        order = make_order(db, rng, now, demo, customer, prices)
        count += 1
        if demo.number == 10006:  # one of the two hoodies came back
            make_rma(db, order, 1, RMA_HAPPY_PATH, now, quantity=1)
    # Orders 10020.. each carry one RMA in one lifecycle state.
    tester = add_customer(db, customers, "rma.tester@example.com", "Riley", "Tester")
    for i, path in enumerate(RMA_PATHS):
        demo = DemoOrder(
            10020 + i,
            tester.email,
            "Riley",
            "Tester",
            "55401",
            "Minneapolis",
            "MN",
            "delivered",
            14,
            [("TEE-BLACK-L", 1)],
            delivered_days_ago=8,
        )
        order = make_order(db, rng, now, demo, tester, prices)
        make_rma(db, order, i + 2, path, now, quantity=1)
        count += 1
    return count


def make_rma(
    db: Session, order: Order, seq: int, path: list[RmaStatus], now: datetime, quantity: int
) -> None:
    db.flush()
    line = db.scalars(select(OrderLine).where(OrderLine.order_id == order.id)).first()
    assert line is not None
    final = path[-1]
    refund = (line.unit_price * quantity - Decimal("6.95")).quantize(Decimal("0.01"))
    rma = Rma(
        rma_number=format_rma_number(seq),
        order_id=order.id,
        status=final.value,
        resolution="store_credit"
        if final == RmaStatus.credited
        else "exchange"
        if final == RmaStatus.exchanged
        else "refund",
        items_amount=line.unit_price * quantity,
        return_shipping_fee=Decimal("6.95"),
        restocking_fee=Decimal("0"),
        refund_amount=refund,
        created_at=now - timedelta(days=6),
        updated_at=now - timedelta(days=1),
    )
    if RmaStatus.label_issued in path:
        rma.label_number = f"1ZRMA{seq:011d}"
        rma.label_carrier = "UPS"
        rma.label_expires_at = (
            now - timedelta(days=1) if final == RmaStatus.expired else now + timedelta(days=8)
        )
    db.add(rma)
    db.flush()
    exchange_sku = "TEE-BLACK-XL" if rma.resolution == "exchange" else None
    db.add(
        RmaLine(
            rma_id=rma.id,
            order_line_id=line.id,
            sku=line.sku,
            quantity=quantity,
            unit_price=line.unit_price,
            reason="size_too_small",
            exchange_sku=exchange_sku,
            disposition="restock" if RmaStatus.inspected in path else None,
        )
    )
    if final not in (RmaStatus.rejected, RmaStatus.cancelled, RmaStatus.expired):
        line.returned_quantity += quantity
    for a, b in zip(path, path[1:], strict=False):
        audit.record(
            db_session=db,
            entity_type="rma",
            entity_id=rma.rma_number,
            action="status_changed",
            actor="seed",
            from_state=a.value,
            to_state=b.value,
        )
