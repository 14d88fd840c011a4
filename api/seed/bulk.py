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
from api.ops.orders.status import SHIPPED_STATES
from api.ops.returns.models import Rma, RmaLine
from opsdesk_ids import format_rma_number

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

    def prepare(self, conn: Any) -> None:
        """Before the transaction: a bulk load can be redone if the machine dies mid-way,
        so SQLite may skip its fsyncs."""
        if not self.pg:
            raw = conn.connection.driver_connection
            raw.execute("PRAGMA synchronous=OFF")
            raw.execute("PRAGMA cache_size=-262144")

    def finish(self, conn: Any) -> None:
        if not self.pg:
            conn.connection.driver_connection.execute("PRAGMA synchronous=NORMAL")

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
                rows,
            )


def _same(value: Any) -> Any:
    return value


def _sqlite_time(value: datetime | None) -> str | None:
    # SQLAlchemy's SQLite storage format for a UTC timestamp.
    return value.isoformat(" ", "microseconds") if value is not None else None


def _next_id(conn: Any, column: Any) -> int:
    return int(conn.execute(select(func.coalesce(func.max(column), 0))).scalar_one()) + 1


COLUMNS = {
    "customers": ("id", "email", "first_name", "last_name", "phone", "created_at"),
    "orders": (
        "id", "number", "customer_id", "status", "placed_at", "currency", "subtotal",
        "shipping_fee", "tax", "total", "ship_name", "ship_line1", "ship_city", "ship_region",
        "ship_postal_code", "ship_country", "promised_delivery_date", "delivered_at",
        "cancelled_at", "updated_at",
    ),
    "order_lines": (
        "id", "order_id", "sku", "product_name", "quantity", "unit_price", "returned_quantity",
        "backordered", "location_code",
    ),
    "payments": ("id", "order_id", "method", "card_brand", "card_last4", "amount", "status",
                 "created_at"),
    "shipments": ("id", "order_id", "carrier", "service", "tracking_number", "status",
                  "promised_delivery_date", "shipped_at", "delivered_at"),
    "tracking_events": ("id", "shipment_id", "occurred_at", "status", "description", "location"),
    "rmas": ("id", "rma_number", "order_id", "status", "resolution", "items_amount",
             "return_shipping_fee", "restocking_fee", "refund_amount", "label_number",
             "label_carrier", "label_expires_at", "conversation_id", "created_at", "updated_at"),
    "rma_lines": ("id", "rma_id", "order_line_id", "sku", "quantity", "unit_price", "reason",
                  "exchange_sku", "disposition"),
}  # fmt: skip
RETURN_REASONS = (
    "size_too_small",
    "size_too_large",
    "changed_mind",
    "not_as_described",
    "defective",
    "wrong_item",
)


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
            "rmas": _next_id(conn, Rma.id),
            "rma_lines": _next_id(conn, RmaLine.id),
        }
        number = max(_next_id(conn, Order.number), FIRST_BULK_NUMBER)
    # Values go in as the driver takes them fastest: SQLite gets text, PostgreSQL objects
    # (naive UTC: the COPY session runs in UTC).
    ts = _sqlite_time if not writer.pg else _same
    day = (lambda d: d.isoformat() if d else None) if not writer.pg else _same
    cash = str if not writer.pg else _same
    cents = [(sku, name, int(price * 100)) for sku, name, price in variants]
    weights = [w for _, w in STATUSES]
    names = [s for s, _ in STATUSES]
    now = datetime.now(UTC).replace(tzinfo=None)
    now_v = ts(now)
    n_customers = max(count // 5, 1)
    first_customer = ids["customers"]
    hours = timedelta(hours=1)
    done = 0
    while done < count:
        size = min(CHUNK, count - done)
        rows: dict[str, list[tuple]] = {k: [] for k in ids}
        if done == 0:
            for cid in range(first_customer, first_customer + n_customers):
                rows["customers"].append(
                    (cid, bulk_email(cid), FIRST[cid % 10], LAST[(cid // 10) % 10], None, now_v)
                )
            ids["customers"] += n_customers
        lines, orders_, payments = rows["order_lines"], rows["orders"], rows["payments"]
        shipments, events = rows["shipments"], rows["tracking_events"]
        for status in rng.choices(names, weights, k=size):
            oid = ids["orders"]
            ids["orders"] += 1
            cid = first_customer + rng.randrange(n_customers)
            city, region, postal = CITIES[cid % len(CITIES)]
            placed = now - timedelta(days=rng.uniform(1, 365))
            subtotal = 0
            first_line = ids["order_lines"]
            for _ in range(rng.choice((1, 1, 2, 2, 3))):
                sku, pname, price = cents[rng.randrange(len(cents))]
                qty = 1 if rng.random() < 0.85 else 2
                subtotal += price * qty
                lines.append(
                    (
                        ids["order_lines"],
                        oid,
                        sku,
                        pname,
                        qty,
                        cash(_money(price)),
                        qty if status == "returned" else 0,
                        int(status == "backordered"),
                        "EAST" if cid % 2 else "WEST",
                    )
                )
                ids["order_lines"] += 1
            shipping = 0 if subtotal >= 7500 else 595
            tax = round(subtotal * 0.08)
            total = cash(_money(subtotal + shipping + tax))
            shipped = status in SHIPPED_STATES
            promised = (placed + timedelta(days=6)).date() if shipped else None
            delivered = (
                placed + timedelta(days=rng.uniform(2.5, 7.5))
                if status in ("delivered", "returned")
                else None
            )
            orders_.append(
                (
                    oid,
                    number,
                    cid,
                    status,
                    ts(placed),
                    "USD",
                    cash(_money(subtotal)),
                    cash(_money(shipping)),
                    cash(_money(tax)),
                    total,
                    f"{FIRST[cid % 10]} {LAST[(cid // 10) % 10]}",
                    f"{100 + cid % 900} Main Street",
                    city,
                    region,
                    postal,
                    "US",
                    day(promised),
                    ts(delivered) if delivered else None,
                    ts(placed + 2 * hours) if status == "cancelled" else None,
                    now_v,
                )
            )
            number += 1
            payments.append(
                (
                    ids["payments"],
                    oid,
                    "card",
                    "Visa",
                    f"{cid % 10000:04d}",
                    total,
                    "voided" if status == "cancelled" else "captured",
                    ts(placed),
                )
            )
            ids["payments"] += 1
            if shipped:
                sid = ids["shipments"]
                ids["shipments"] += 1
                shipped_at = placed + 20 * hours
                ship_status = SHIPMENT_STATUS.get(status, status)
                shipments.append(
                    (
                        sid,
                        oid,
                        "UPS",
                        "standard",
                        f"1Z{oid:016d}",
                        ship_status,
                        day(promised),
                        ts(shipped_at),
                        ts(delivered) if delivered else None,
                    )
                )
                eid = ids["tracking_events"]
                events.append(
                    (
                        eid,
                        sid,
                        ts(shipped_at),
                        "label_created",
                        "Shipping label created",
                        "Newark, NJ",
                    )
                )
                events.append(
                    (
                        eid + 1,
                        sid,
                        ts(shipped_at + 14 * hours),
                        "in_transit",
                        "Departed facility",
                        "Newark, NJ",
                    )
                )
                eid += 2
                if delivered:
                    events.append((eid, sid, ts(delivered), "delivered", "Delivered", city))
                    eid += 1
                ids["tracking_events"] = eid
            if status == "returned":  # fully returned and refunded: one closed RMA
                rid = ids["rmas"]
                ids["rmas"] += 1
                assert delivered is not None
                returned = lines[first_line - ids["order_lines"] :]
                items = sum(round(float(ln[5]) * 100) * ln[4] for ln in returned)
                rows["rmas"].append(
                    (
                        rid,
                        format_rma_number(rid),
                        oid,
                        "closed",
                        "refund",
                        cash(_money(items)),
                        cash(_money(695)),
                        cash(_money(0)),
                        cash(_money(max(items - 695, 0))),
                        f"1ZR{rid:015d}",
                        "UPS",
                        ts(delivered + 14 * 24 * hours),
                        None,
                        ts(delivered + 24 * hours),
                        ts(delivered + 9 * 24 * hours),
                    )
                )
                for ln in returned:
                    rows["rma_lines"].append(
                        (
                            ids["rma_lines"],
                            rid,
                            ln[0],
                            ln[2],
                            ln[4],
                            ln[5],
                            RETURN_REASONS[rid % len(RETURN_REASONS)],
                            None,
                            "restock",
                        )
                    )
                    ids["rma_lines"] += 1
        with engine.connect() as conn:
            writer.prepare(conn)
            with conn.begin():
                if writer.pg:
                    conn.exec_driver_sql("SET LOCAL TIME ZONE 'UTC'")
                for table, columns in COLUMNS.items():
                    writer.write(conn, table, columns, rows[table])
            writer.finish(conn)
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


SHIPMENT_STATUS = {"delayed": "exception", "shipped": "in_transit", "returned": "delivered"}


def _money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


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
