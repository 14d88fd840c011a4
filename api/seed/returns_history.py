"""A month of delivered orders and their returns whose patterns are known, for the returns
report ("what returns teach"): `opsdesk seed --returns-history`.

The orders are built by the demo store's own order builder; every return goes through the
returns service (`api.ops.returns.service.create`, what POST /api/v1/returns runs), so the
policy checks them as it checks a customer's. What the report should flag, on top of the demo
store's own history (its RMA lifecycle orders return the Everyday Organic Tee in L as too
small, ten times):

- Slim Selvedge Jeans, size 30: too small 5 of 8, the other sizes 1 of 32;
- Trail Runner Sneakers, size 12: too large 4 of 6, the other sizes none;
- Recycled Puffer Jacket: defective 4 of 16;
- Wrap Midi Dress: not as described 5 of 16, all in rust.

And what it should not: the Everyday Organic Tee's single defect and single "too large" (one
unit each, below the minimum), the Hemp Shorts' two defects of eight (below the minimum).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, time
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.ops.catalog.models import Product, Variant
from api.ops.customers.models import Customer
from api.ops.orders.models import Order
from api.ops.returns import service as returns
from api.ops.returns.policy import load_policy
from api.settings import Settings
from opsdesk_ids import make_sku

from .demo_orders import DemoOrder
from .order_builder import add_customer, make_order

FIRST_ORDER_NUMBER = 30001
RNG_SEED = 20261130
CUSTOMERS = [
    ("noa.berg@example.com", "Noa", "Berg", "94107", "San Francisco", "CA"),
    ("luis.ortega@example.com", "Luis", "Ortega", "78701", "Austin", "TX"),
    ("hana.sato@example.com", "Hana", "Sato", "98109", "Seattle", "WA"),
    ("kofi.mensah@example.com", "Kofi", "Mensah", "30303", "Atlanta", "GA"),
]


@dataclass(frozen=True)
class Sale:
    """`sold` units of one variant, each its own order; then the returns, by reason."""

    style: str
    colour: str
    size: str
    sold: int
    returned: tuple[tuple[str, int], ...] = ()


def _sales() -> list[Sale]:
    sales: list[Sale] = []
    # Jeans: size 30 runs small.
    for size in ("28", "30", "32", "34", "36"):
        returned: tuple[tuple[str, int], ...] = ()
        if size == "30":
            returned = (("size_too_small", 5),)
        elif size == "32":
            returned = (("size_too_small", 1),)
        elif size == "34":
            returned = (("changed_mind", 1),)
        sales.append(Sale("SSJ", "indigo", size, 8, returned))
    # Sneakers: size 12 runs large.
    for size in ("8", "9", "10", "11", "12"):
        sales.append(Sale("TRS", "grey", size, 6, (("size_too_large", 4),) if size == "12" else ()))
    # Puffer: a defect (the zip) well above the threshold, across colours and sizes.
    for colour in ("black", "olive"):
        for size in ("S", "M", "L", "XL"):
            defects = 1 if size in ("M", "L") else 0
            sales.append(Sale("PUF", colour, size, 2, (("defective", defects),) if defects else ()))
    # Dress: the rust colour is not as the photos show it.
    for colour, nad in (("rust", (2, 1, 1, 1)), ("navy floral", (0, 0, 0, 0))):
        for size, n in zip(("XS", "S", "M", "L"), nad, strict=True):
            sales.append(Sale("WMD", colour, size, 2, (("not_as_described", n),) if n else ()))
    # Tee and shorts: returns below every threshold or minimum.
    for colour in ("white", "navy"):
        for size in ("S", "M", "L"):
            returned = ()
            if (colour, size) == ("white", "M"):
                returned = (("defective", 1), ("size_too_large", 1))
            elif (colour, size) == ("navy", "S"):
                returned = (("changed_mind", 2),)
            sales.append(Sale("TEE", colour, size, 4, returned))
    for size in ("S", "M", "L", "XL"):
        sales.append(
            Sale("HSH", "sand", size, 2, (("defective", 1),) if size in ("M", "L") else ())
        )
    return sales


def catalog_prices(db: Session) -> dict[str, tuple[str, Decimal]]:
    """sku -> (product name, price) of the catalog already loaded."""
    rows = db.execute(
        select(Variant.sku, Product.name, Product.price).join(
            Product, Product.id == Variant.product_id
        )
    ).all()
    return {sku: (name, price) for sku, name, price in rows}


def is_loaded(db: Session) -> bool:
    return bool(db.scalar(select(func.count(Order.id)).where(Order.number >= FIRST_ORDER_NUMBER)))


def seed_returns_history(db: Session, settings: Settings) -> dict[str, int]:
    """Add the orders and returns above in the caller's transaction; returns the counts."""
    prices = catalog_prices(db)
    rng = random.Random(RNG_SEED)
    now = datetime.combine(datetime.now(UTC).date(), time(15, 0), tzinfo=UTC)
    now = min(now, datetime.now(UTC))
    policy = load_policy(settings.store_dir / "return_policy.yml")
    customers: dict[str, Customer] = {
        c.email: c
        for c in db.scalars(select(Customer).where(Customer.email.in_([c[0] for c in CUSTOMERS])))
    }
    number = FIRST_ORDER_NUMBER
    orders = rmas = 0
    for sale in _sales():
        sku = make_sku(sale.style, sale.colour, sale.size)
        reasons = [reason for reason, n in sale.returned for _ in range(n)]
        for unit in range(sale.sold):
            email, first, last, postal, city, region = CUSTOMERS[number % len(CUSTOMERS)]
            delivered = rng.randint(3, 20)
            demo = DemoOrder(
                number, email, first, last, postal, city, region, "delivered",
                delivered + 4, [(sku, 1)], delivered_days_ago=delivered,
            )  # fmt: skip
            customer = add_customer(db, customers, email, first, last)
            order = make_order(db, rng, now, demo, customer, prices)
            number += 1
            orders += 1
            if unit < len(reasons):
                returns.create(
                    db_session=db,
                    policy=policy,
                    order=order,
                    lines=[returns.RequestedLine(sku=sku, quantity=1, reason=reasons[unit])],
                    resolution="refund" if unit % 2 == 0 else "store_credit",
                    actor="seed",
                )
                rmas += 1
    return {"orders": orders, "returns": rmas}
