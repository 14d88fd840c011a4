"""The deterministic demo store: catalog, stock, knowledge base, customers, and the demo orders
that cover every case the assistant and agents meet (docs in the README)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.ops.audit import service as audit
from api.ops.auth.models import Agent
from api.ops.auth.service import hash_password
from api.ops.catalog.models import Product, Variant
from api.ops.customers.models import Customer
from api.ops.inventory.models import InventoryLevel, Location
from api.ops.kb.models import KbArticle
from api.ops.orders.models import Order, OrderLine, Payment, Shipment, TrackingEvent
from api.ops.returns.enums import RMA_TRANSITIONS, RmaStatus
from api.ops.returns.models import Rma, RmaLine
from opsdesk_ids import format_rma_number, make_sku

RNG_SEED = 20261127


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def seed_catalog(db: Session, store_dir: Path) -> dict[str, tuple[str, Decimal]]:
    """Products, variants, locations and stock. Returns sku -> (product name, price)."""
    catalog = load_yaml(store_dir / "catalog.yml")
    rng = random.Random(RNG_SEED)
    for loc in catalog["locations"]:
        db.add(Location(code=loc["code"], name=loc["name"]))
    prices: dict[str, tuple[str, Decimal]] = {}
    today = datetime.now(UTC).date()
    for item in catalog["products"]:
        product = Product(
            style=item["style"],
            name=item["name"],
            category=item["category"],
            price=Decimal(item["price"]),
            final_sale=bool(item.get("final_sale")),
            personalized=bool(item.get("personalized")),
            description=item.get("description", ""),
            aliases=list(item.get("aliases") or []),
            attributes=dict(item.get("attributes") or {}),
        )
        db.add(product)
        db.flush()
        for colour in item["colours"]:
            for size in item["sizes"]:
                sku = make_sku(item["style"], colour, str(size))
                db.add(Variant(product_id=product.id, sku=sku, size=str(size), colour=colour))
                prices[sku] = (item["name"], Decimal(item["price"]))
    db.flush()
    for sku in sorted(prices):
        for code, high in (("EAST", 40), ("WEST", 30)):
            on_hand = rng.randint(3, high)
            db.add(
                InventoryLevel(
                    sku=sku, location_code=code, on_hand=on_hand, reserved=0, reorder_point=5
                )
            )
    db.flush()
    # Stock situations the assistant must explain.
    _set_stock(db, "PUF-OLIVE-M", 0, restock=(today + timedelta(days=9), 40))
    _set_stock(db, "LBS-SKYBLUE-M", 0, restock=(today + timedelta(days=12), 25))
    _set_stock(db, "SSJ-BLACK-30", 0, restock=None)
    _set_stock(db, "TRS-BLACK-10", 0, restock=(today + timedelta(days=21), 30))
    _set_stock(db, "WOC-CAMEL-S", 1, restock=None)
    return prices


def _set_stock(db: Session, sku: str, each: int, restock: tuple[date, int] | None) -> None:
    values: dict[str, Any] = {"on_hand": each, "reserved": 0}
    if restock:
        values.update(next_restock_date=restock[0], next_restock_quantity=restock[1])
    db.execute(update(InventoryLevel).where(InventoryLevel.sku == sku).values(**values))
    if restock:  # the restock lands in the East warehouse only
        db.execute(
            update(InventoryLevel)
            .where(InventoryLevel.sku == sku, InventoryLevel.location_code == "WEST")
            .values(next_restock_date=None, next_restock_quantity=None)
        )


def seed_kb(db: Session, store_dir: Path) -> int:
    articles = load_yaml(store_dir / "faq.yml")["articles"]
    for a in articles:
        db.add(
            KbArticle(
                slug=a["id"],
                title=a["title"],
                questions=list(a.get("questions") or []),
                answer=a["answer"].strip(),
                tags=list(a.get("tags") or []),
                category=a.get("category"),
                style=a.get("sku"),
            )
        )
    return len(articles)


DEMO_AGENT_EMAIL = "alex@fernhill.example"
DEMO_ADMIN_EMAIL = "admin@fernhill.example"


def seed_agents(db: Session, agent_password: str, admin_password: str) -> None:
    """The demo store's team: one agent and one admin (the team lead) of the console."""
    db.add(
        Agent(
            email=DEMO_AGENT_EMAIL,
            name="Alex Rivera",
            password_hash=hash_password(agent_password),
            role="agent",
        )
    )
    db.add(
        Agent(
            email=DEMO_ADMIN_EMAIL,
            name="Morgan Lee",
            password_hash=hash_password(admin_password),
            role="admin",
        )
    )


# ---------------------------------------------------------------- demo orders


@dataclass
class DemoOrder:
    number: int
    email: str
    first: str
    last: str
    postal: str
    city: str
    region: str
    status: str
    placed_days_ago: int
    lines: list[tuple[str, int]]
    carrier: str = "UPS"
    delivered_days_ago: int | None = None
    promised_in_days: int | None = None
    backordered_skus: set[str] = field(default_factory=set)
    events: list[tuple[float, str, str, str]] = field(
        default_factory=list
    )  # hours ago, status, text, place


def _demo_orders() -> list[DemoOrder]:
    return [
        DemoOrder(
            10001,
            "jane.doe@example.com",
            "Jane",
            "Doe",
            "94110",
            "San Francisco",
            "CA",
            "shipped",
            3,
            [("TEE-NAVY-M", 2), ("RCH-KHAKI-32", 1)],
            promised_in_days=2,
            events=[
                (60, "label_created", "Shipping label created", "Newark, NJ"),
                (48, "picked_up", "Picked up by UPS", "Newark, NJ"),
                (20, "in_transit", "Departed facility", "Chicago, IL"),
            ],
        ),
        DemoOrder(
            10002,
            "sam.lee@example.com",
            "Sam",
            "Lee",
            "10001",
            "New York",
            "NY",
            "delayed",
            9,
            [("WOC-CAMEL-M", 1)],
            carrier="FedEx",
            promised_in_days=-2,
            events=[
                (190, "label_created", "Shipping label created", "Reno, NV"),
                (170, "picked_up", "Picked up by FedEx", "Reno, NV"),
                (80, "exception", "Weather delay: the parcel is held at the hub", "Memphis, TN"),
            ],
        ),
        DemoOrder(
            10003,
            "jane.doe@example.com",
            "Jane",
            "Doe",
            "94110",
            "San Francisco",
            "CA",
            "delivered",
            10,
            [("LBS-WHITE-M", 1), ("SSJ-INDIGO-32", 1), ("SLD-BLACK-S", 1)],
            delivered_days_ago=5,
        ),
        DemoOrder(
            10004,
            "omar.haddad@example.com",
            "Omar",
            "Haddad",
            "60614",
            "Chicago",
            "IL",
            "delivered",
            50,
            [("MCS-NAVY-L", 1)],
            carrier="USPS",
            delivered_days_ago=45,
        ),
        DemoOrder(
            10005,
            "priya.patel@example.com",
            "Priya",
            "Patel",
            "02139",
            "Cambridge",
            "MA",
            "backordered",
            4,
            [("PUF-OLIVE-M", 1), ("CTT-NATURAL-OS", 1)],
            backordered_skus={"PUF-OLIVE-M"},
        ),
        DemoOrder(
            10006,
            "lucas.martin@example.com",
            "Lucas",
            "Martin",
            "73301",
            "Austin",
            "TX",
            "delivered",
            16,
            [("PHO-BLACK-L", 2)],
            delivered_days_ago=12,
        ),
        DemoOrder(
            10007,
            "mia.chen@example.com",
            "Mia",
            "Chen",
            "98101",
            "Seattle",
            "WA",
            "paid",
            0,
            [("CKC-CREAM-S", 1), ("WBN-MUSTARD-OS", 1)],
        ),
        DemoOrder(
            10008,
            "noah.kim@example.com",
            "Noah",
            "Kim",
            "30301",
            "Atlanta",
            "GA",
            "cancelled",
            6,
            [("LCB-BROWN-9", 1)],
        ),
        DemoOrder(
            10009,
            "ella.rossi@example.com",
            "Ella",
            "Rossi",
            "85001",
            "Phoenix",
            "AZ",
            "lost",
            15,
            [("DJK-INDIGO-M", 1)],
            carrier="USPS",
            promised_in_days=-8,
            events=[
                (340, "label_created", "Shipping label created", "Reno, NV"),
                (320, "in_transit", "Departed facility", "Reno, NV"),
                (30, "lost", "The carrier could not locate the parcel", "Phoenix, AZ"),
            ],
        ),
        DemoOrder(
            10010,
            "jane.doe@example.com",
            "Jane",
            "Doe",
            "94110",
            "San Francisco",
            "CA",
            "out_for_delivery",
            4,
            [("CSC-CAMEL-OS", 1)],
            promised_in_days=0,
            events=[
                (70, "label_created", "Shipping label created", "Reno, NV"),
                (50, "in_transit", "Departed facility", "Sacramento, CA"),
                (3, "out_for_delivery", "Out for delivery", "San Francisco, CA"),
            ],
        ),
        DemoOrder(
            10011,
            "ava.nguyen@example.com",
            "Ava",
            "Nguyen",
            "97201",
            "Portland",
            "OR",
            "delivered",
            7,
            [("MNT-NAVY-OS", 1), ("BXB-BLACK-M", 1), ("FZH-GREY-L", 1)],
            delivered_days_ago=3,
        ),
        DemoOrder(
            10012,
            "leo.garcia@example.com",
            "Leo",
            "Garcia",
            "33101",
            "Miami",
            "FL",
            "processing",
            1,
            [("OXS-BLUE-L", 1), ("HSH-SAND-M", 1)],
        ),
        DemoOrder(
            10013,
            "zoe.brown@example.com",
            "Zoe",
            "Brown",
            "02108",
            "Boston",
            "MA",
            "pending",
            0,
            [("RTK-BLACK-S", 2)],
        ),
    ]


# One RMA in each lifecycle state: the path through the lifecycle to reach it.
RMA_PATHS: list[list[RmaStatus]] = []
for _target in RmaStatus:
    _path: list[RmaStatus] = [RmaStatus.requested]
    _order = [
        RmaStatus.requested,
        RmaStatus.approved,
        RmaStatus.label_issued,
        RmaStatus.in_transit,
        RmaStatus.received,
        RmaStatus.inspected,
        RmaStatus.refunded,
        RmaStatus.closed,
    ]
    if _target in _order:
        _path = _order[: _order.index(_target) + 1]
    elif _target in (RmaStatus.exchanged, RmaStatus.credited):
        _path = _order[:6] + [_target]
    elif _target == RmaStatus.rejected:
        _path = [RmaStatus.requested, RmaStatus.rejected]
    elif _target == RmaStatus.cancelled:
        _path = [RmaStatus.requested, RmaStatus.approved, RmaStatus.cancelled]
    elif _target == RmaStatus.expired:
        _path = _order[:3] + [RmaStatus.expired]
    assert all(b in RMA_TRANSITIONS[a] for a, b in zip(_path, _path[1:], strict=False))
    RMA_PATHS.append(_path)

CARRIER_PREFIX = {"UPS": "1Z", "FedEx": "7", "USPS": "94", "DHL": "JD"}


def _tracking(rng: random.Random, carrier: str) -> str:
    return CARRIER_PREFIX[carrier] + "".join(rng.choice("0123456789") for _ in range(16))


def _at(now: datetime, days_ago: float) -> datetime:
    return now - timedelta(days=days_ago)


def _customer(
    db: Session, cache: dict[str, Customer], email: str, first: str, last: str
) -> Customer:
    if email not in cache:
        customer = Customer(email=email, first_name=first, last_name=last)
        db.add(customer)
        db.flush()
        cache[email] = customer
    return cache[email]


def _make_order(
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
    if demo.status in {"shipped", "delayed", "lost", "out_for_delivery", "delivered", "returned"}:
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
    for demo in _demo_orders():
        customer = _customer(db, customers, demo.email, demo.first, demo.last)
        order = _make_order(db, rng, now, demo, customer, prices)
        count += 1
        if demo.number == 10006:  # one of the two hoodies came back
            _make_rma(
                db,
                order,
                1,
                [
                    RmaStatus.requested,
                    RmaStatus.approved,
                    RmaStatus.label_issued,
                    RmaStatus.in_transit,
                    RmaStatus.received,
                    RmaStatus.inspected,
                    RmaStatus.refunded,
                    RmaStatus.closed,
                ],
                now,
                quantity=1,
            )
    # Orders 10020.. each carry one RMA in one lifecycle state.
    tester = _customer(db, customers, "rma.tester@example.com", "Riley", "Tester")
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
        order = _make_order(db, rng, now, demo, tester, prices)
        _make_rma(db, order, i + 2, path, now, quantity=1)
        count += 1
    return count


def _make_rma(
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
