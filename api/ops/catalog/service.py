"""The catalog: products, variants, and a small in-process cache of variant facts."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.ops.catalog.models import Product, Variant
from opsdesk_ids import canonical_sku


@dataclass(frozen=True)
class VariantFacts:
    sku: str
    style: str
    product_name: str
    category: str
    size: str
    colour: str
    price: Decimal
    final_sale: bool
    personalized: bool
    sibling_count: int


_cache_lock = threading.Lock()
_cache: dict[str, VariantFacts] = {}
_cache_loaded_at = 0.0
CACHE_SECONDS = 30.0


def invalidate_cache() -> None:
    global _cache_loaded_at
    with _cache_lock:
        _cache_loaded_at = 0.0


def variant_facts(*, db_session: Session, skus: list[str]) -> dict[str, VariantFacts]:
    """Facts for these SKUs, from a catalog snapshot refreshed every CACHE_SECONDS."""
    global _cache, _cache_loaded_at
    now = time.monotonic()
    if now - _cache_loaded_at > CACHE_SECONDS or any(s not in _cache for s in skus):
        rows = db_session.execute(select(Variant, Product).join(Product)).all()
        counts: dict[int, int] = {}
        for variant, _product in rows:
            counts[variant.product_id] = counts.get(variant.product_id, 0) + 1
        fresh = {
            v.sku: VariantFacts(
                sku=v.sku,
                style=p.style,
                product_name=p.name,
                category=p.category,
                size=v.size,
                colour=v.colour,
                price=p.price,
                final_sale=p.final_sale,
                personalized=p.personalized,
                sibling_count=counts[v.product_id],
            )
            for v, p in rows
        }
        with _cache_lock:
            _cache, _cache_loaded_at = fresh, now
    return {s: _cache[s] for s in skus if s in _cache}


def get_by_style(*, db_session: Session, style: str) -> Product | None:
    """One product by its style code."""
    return db_session.scalar(select(Product).where(Product.style == style.upper()))


def get_by_sku(*, db_session: Session, sku: str) -> Product | None:
    """One product by style code or variant SKU."""
    code = canonical_sku(sku)
    product = get_by_style(db_session=db_session, style=code)
    if product is None:
        product = db_session.scalar(select(Product).join(Variant).where(Variant.sku == code))
    return product


def get_variant(*, db_session: Session, sku: str) -> Variant | None:
    """One variant by SKU."""
    return db_session.scalar(select(Variant).where(Variant.sku == canonical_sku(sku)))


def search(
    *,
    db_session: Session,
    q: str | None = None,
    category: str | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> list[Product]:
    """Products by name, alias, style or category, in id order (for cursor paging)."""
    stmt = select(Product).order_by(Product.id).limit(limit)
    if category:
        stmt = stmt.where(Product.category == category.lower())
    if after_id is not None:
        stmt = stmt.where(Product.id > after_id)
    products = list(db_session.scalars(stmt)) if not q else []
    if not q:
        return products
    # Names and aliases are few (one row per style): match in Python on word overlap.
    words = [w for w in _words(q) if w not in _STOPWORDS]
    candidates = list(db_session.scalars(stmt.limit(None)))
    scored = []
    for product in candidates:
        haystack = [product.name.lower(), *(a.lower() for a in product.aliases)]
        if q.strip().upper() == product.style:
            scored.append((100.0, product))
            continue
        best = 0.0
        for text in haystack:
            text_words = set(_words(text))
            if not text_words:
                continue
            if text in q.lower():
                best = max(best, 10.0 + len(text_words))
            overlap = sum(1 for w in words if w in text_words or _stem(w) in map(_stem, text_words))
            if overlap:
                best = max(best, overlap / len(text_words) + overlap * 0.1)
        if best >= 0.5:
            scored.append((best, product))
    scored.sort(key=lambda pair: (-pair[0], pair[1].id))
    return [p for _, p in scored][:limit]


_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "in",
        "on",
        "of",
        "for",
        "and",
        "or",
        "do",
        "you",
        "have",
        "is",
        "it",
        "your",
        "my",
        "me",
        "i",
        "any",
        "size",
        "colour",
        "color",
        "stock",
        "available",
    ]
)


def _words(text: str) -> list[str]:
    return [w for w in "".join(c.lower() if c.isalnum() else " " for c in text).split() if w]


def _stem(word: str) -> str:
    for suffix in ("ies", "es", "s"):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word
