"""The deterministic demo store: catalog, stock, knowledge base and the console's team. The demo
orders are `demo_orders.py` (what they are) and `order_builder.py` (writing them)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import update
from sqlalchemy.orm import Session

from api.ops.auth.models import Agent
from api.ops.auth.service import hash_password
from api.ops.catalog.models import Product, Variant
from api.ops.inventory.models import InventoryLevel, Location
from api.ops.kb.models import KbArticle
from opsdesk_ids import make_sku

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
