"""Generate many orders fast, for benchmarks: plain rows written with executemany (SQLite)
or COPY (PostgreSQL), bypassing the ORM. The orders are realistic enough for the lookup,
returns and KPI paths: lines, a payment, a shipment with tracking events."""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from api.ops.catalog.models import Product, Variant
from api.ops.customers.models import Customer
from api.ops.orders.models import Order, OrderLine, Payment, Shipment, TrackingEvent

FIRST_BULK_NUMBER = 200_000
CHUNK = 25_000
STATUSES = (
    ("delivered", 70),
    ("shipped", 8),
    ("out_for_delivery", 2),
    ("processing", 5),
    ("paid", 4),
    ("cancelled", 4),
    ("delayed", 2),
    ("backordered", 2),
    ("returned", 1),
    ("pending", 2),
)
SHIPPED = {"delivered", "shipped", "out_for_delivery", "delayed", "returned"}
CITIES = [
    ("Denver", "CO", "80202"),
    ("Austin", "TX", "78701"),
    ("Columbus", "OH", "43215"),
    ("Raleigh", "NC", "27601"),
    ("Madison", "WI", "53703"),
    ("Tucson", "AZ", "85701"),
    ("Omaha", "NE", "68102"),
    ("Boise", "ID", "83702"),
]
FIRST = ["Alex", "Sam", "Jordan", "Taylor", "Casey", "Morgan", "Riley", "Jamie", "Avery", "Quinn"]
LAST = ["Smith", "Johnson", "Lee", "Brown", "Garcia", "Miller", "Davis", "Lopez", "Wilson", "Moore"]


def bulk_email(customer_id: int) -> str:
    return f"shopper{customer_id}@example.net"


class Writer:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.pg = engine.dialect.name == "postgresql"

    def write(self, conn: Any, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
        if not rows:
            return
        raw = conn.connection.driver_connection
        if self.pg:
            with (
                raw.cursor() as cur,
                cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp,
            ):
                for row in rows:
                    cp.write_row(row)
        else:
            marks = ", ".join("?" for _ in columns)
            raw.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                [tuple(_sqlite(v) for v in row) for row in rows],
            )


def _sqlite(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bool):
        return int(value)
    return value


def _next_id(conn: Any, column: Any) -> int:
    return int(conn.execute(select(func.coalesce(func.max(column), 0))).scalar_one()) + 1


def generate(engine: Engine, count: int, *, seed: int = 7, progress: bool = True) -> dict[str, Any]:
    """Append `count` orders after the highest order number; returns figures for the log."""
    rng = random.Random(seed)
    started = time.perf_counter()
    writer = Writer(engine)
    with engine.begin() as conn:
        variants = conn.execute(
            select(Variant.sku, Product.name, Product.price)
            .join(Product, Product.id == Variant.product_id)
            .where(Product.category != "gift_cards")
        ).all()
        ids = {
            "customers": _next_id(conn, Customer.id),
            "orders": _next_id(conn, Order.id),
            "order_lines": _next_id(conn, OrderLine.id),
            "payments": _next_id(conn, Payment.id),
            "shipments": _next_id(conn, Shipment.id),
            "tracking_events": _next_id(conn, TrackingEvent.id),
        }
        number = max(_next_id(conn, Order.number), FIRST_BULK_NUMBER)
    weights = [w for _, w in STATUSES]
    names = [s for s, _ in STATUSES]
    now = datetime.now(UTC)
    n_customers = max(count // 5, 1)
    first_customer = ids["customers"]
    done = 0
    while done < count:
        size = min(CHUNK, count - done)
        rows: dict[str, list[tuple]] = {k: [] for k in ids}
        if done == 0:
            for i in range(n_customers):
                cid = first_customer + i
                rows["customers"].append(
                    (cid, bulk_email(cid), FIRST[cid % 10], LAST[(cid // 10) % 10], None, now)
                )
            ids["customers"] += n_customers
        statuses = rng.choices(names, weights, k=size)
        for status in statuses:
            oid = ids["orders"]
            ids["orders"] += 1
            cid = first_customer + rng.randrange(n_customers)
            city, region, postal = CITIES[cid % len(CITIES)]
            placed = now - timedelta(days=rng.uniform(1, 365))
            subtotal = Decimal("0")
            for _ in range(rng.choice((1, 1, 2, 2, 3))):
                sku, pname, price = variants[rng.randrange(len(variants))]
                qty = 1 if rng.random() < 0.85 else 2
                subtotal += price * qty
                rows["order_lines"].append(
                    (
                        ids["order_lines"],
                        oid,
                        sku,
                        pname,
                        qty,
                        price,
                        qty if status == "returned" else 0,
                        status == "backordered",
                        "EAST" if cid % 2 else "WEST",
                    )
                )
                ids["order_lines"] += 1
            shipping = Decimal("0.00") if subtotal >= 75 else Decimal("5.95")
            tax = (subtotal * Decimal("0.08")).quantize(Decimal("0.01"))
            total = subtotal + shipping + tax
            shipped = status in SHIPPED
            promised = (placed + timedelta(days=6)).date() if shipped else None
            delivered = (
                placed + timedelta(days=rng.uniform(2.5, 7.5))
                if status in ("delivered", "returned")
                else None
            )
            rows["orders"].append(
                (
                    oid,
                    number,
                    cid,
                    status,
                    placed,
                    "USD",
                    subtotal,
                    shipping,
                    tax,
                    total,
                    f"{FIRST[cid % 10]} {LAST[(cid // 10) % 10]}",
                    f"{100 + cid % 900} Main Street",
                    city,
                    region,
                    postal,
                    "US",
                    promised,
                    delivered,
                    placed + timedelta(hours=2) if status == "cancelled" else None,
                    now,
                )
            )
            number += 1
            rows["payments"].append(
                (
                    ids["payments"],
                    oid,
                    "card",
                    "Visa",
                    f"{cid % 10000:04d}",
                    total,
                    "voided" if status == "cancelled" else "captured",
                    placed,
                )
            )
            ids["payments"] += 1
            if shipped:
                sid = ids["shipments"]
                ids["shipments"] += 1
                shipped_at = placed + timedelta(hours=20)
                ship_status = {"delayed": "exception", "shipped": "in_transit"}.get(status, status)
                if status == "returned":
                    ship_status = "delivered"
                rows["shipments"].append(
                    (
                        sid,
                        oid,
                        "UPS",
                        "standard",
                        f"1Z{oid:016d}",
                        ship_status,
                        promised,
                        shipped_at,
                        delivered,
                    )
                )
                events = [
                    (shipped_at, "label_created", "Shipping label created", "Newark, NJ"),
                    (
                        shipped_at + timedelta(hours=14),
                        "in_transit",
                        "Departed facility",
                        "Newark, NJ",
                    ),
                ]
                if delivered:
                    events.append((delivered, "delivered", "Delivered", city))
                for at, est, desc, loc in events:
                    rows["tracking_events"].append(
                        (ids["tracking_events"], sid, at, est, desc, loc)
                    )
                    ids["tracking_events"] += 1
        with engine.begin() as conn:
            writer.write(
                conn,
                "customers",
                ("id", "email", "first_name", "last_name", "phone", "created_at"),
                rows["customers"],
            )
            writer.write(
                conn,
                "orders",
                (
                    "id",
                    "number",
                    "customer_id",
                    "status",
                    "placed_at",
                    "currency",
                    "subtotal",
                    "shipping_fee",
                    "tax",
                    "total",
                    "ship_name",
                    "ship_line1",
                    "ship_city",
                    "ship_region",
                    "ship_postal_code",
                    "ship_country",
                    "promised_delivery_date",
                    "delivered_at",
                    "cancelled_at",
                    "updated_at",
                ),
                rows["orders"],
            )
            writer.write(
                conn,
                "order_lines",
                (
                    "id",
                    "order_id",
                    "sku",
                    "product_name",
                    "quantity",
                    "unit_price",
                    "returned_quantity",
                    "backordered",
                    "location_code",
                ),
                rows["order_lines"],
            )
            writer.write(
                conn,
                "payments",
                (
                    "id",
                    "order_id",
                    "method",
                    "card_brand",
                    "card_last4",
                    "amount",
                    "status",
                    "created_at",
                ),
                rows["payments"],
            )
            writer.write(
                conn,
                "shipments",
                (
                    "id",
                    "order_id",
                    "carrier",
                    "service",
                    "tracking_number",
                    "status",
                    "promised_delivery_date",
                    "shipped_at",
                    "delivered_at",
                ),
                rows["shipments"],
            )
            writer.write(
                conn,
                "tracking_events",
                ("id", "shipment_id", "occurred_at", "status", "description", "location"),
                rows["tracking_events"],
            )
        done += size
        if progress:
            rate = done / (time.perf_counter() - started)
            print(f"  {done:>9,} / {count:,} orders  ({rate:,.0f} orders/s)", flush=True)
    if writer.pg:
        with engine.begin() as conn:
            for table in ids:
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
                    )
                )
            conn.execute(text("ANALYZE"))
    elapsed = time.perf_counter() - started
    return {
        "orders": count,
        "seconds": round(elapsed, 1),
        "orders_per_second": round(count / elapsed),
    }


def sample_lookups(engine: Engine, n: int, seed: int = 11) -> list[tuple[str, str]]:
    """(order number, email) pairs of bulk orders, for the benchmarks."""
    rng = random.Random(seed)
    with engine.connect() as conn:
        lo, hi = conn.execute(
            select(func.min(Order.number), func.max(Order.number)).where(
                Order.number >= FIRST_BULK_NUMBER
            )
        ).one()
        if lo is None:
            return []
        numbers = sorted({rng.randint(lo, hi) for _ in range(n)})
        rows: Iterable[Any] = conn.execute(
            select(Order.number, Customer.email)
            .join(Customer, Customer.id == Order.customer_id)
            .where(Order.number.in_(numbers))
        )
        return [(str(num), email) for num, email in rows]
