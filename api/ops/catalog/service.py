"""The catalog: products, variants, and a small in-process cache of variant facts; product
search over the words of `words.py`."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.ops.catalog.models import Product, Variant
from api.ops.catalog.words import CatalogWords, VariantMatch, text_score
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
    """Forget the variant facts and the catalog's words: call after editing the catalog."""
    global _cache_loaded_at, _words_cache
    with _cache_lock:
        _cache_loaded_at = 0.0
    with _words_lock:
        _words_cache = None


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
    """Products by name, alias or style code, best first (see `find`); without `q`, in id
    order (for cursor paging)."""
    return [
        found.product
        for found in find(
            db_session=db_session, q=q, category=category, after_id=after_id, limit=limit
        )
    ]


@dataclass(frozen=True)
class Found:
    product: Product
    match: VariantMatch | None  # None: the query names no colour or size


def find(
    *,
    db_session: Session,
    q: str | None = None,
    category: str | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> list[Found]:
    """Like `search`, with the variant the query names. With `q`, best matches first: the
    product naming most of the query's words, then the closest name or alias, then the one
    that comes in the colour and size asked for. Misspelt words are read as the nearest word
    of the catalog (see api/ops/common/fuzzy.py)."""
    stmt = select(Product).order_by(Product.id).limit(limit)
    if category:
        stmt = stmt.where(Product.category == category.lower())
    if after_id is not None:
        stmt = stmt.where(Product.id > after_id)
    if not q:
        return [Found(p, None) for p in db_session.scalars(stmt)]
    # Names and aliases are few (one row per style): match in Python on word overlap, on
    # those columns alone; only the products that match are loaded whole (with their
    # variants), so a search does not build every product of the catalog.
    words = catalog_words(db_session=db_session)
    query = words.read(q)
    style = q.strip().upper()
    keys: dict[int, tuple[int, int, float]] = {}
    candidates = stmt.limit(None).with_only_columns(
        Product.id, Product.style, Product.name, Product.aliases
    )
    for product_id, product_style, name, aliases in db_session.execute(candidates):
        if style == product_style:
            keys[product_id] = (1, 0, 0.0)
            continue
        covered: set[int] = set()
        best = 0.0
        for text in (name, *(aliases or ())):
            hits, score = text_score(query, text)
            covered |= hits
            best = max(best, score)
        if best >= 0.5:
            keys[product_id] = (0, len(covered), best)
    if not keys:
        return []
    scored = []
    for product in db_session.scalars(select(Product).where(Product.id.in_(keys))):
        match = words.match(product, query)
        if keys[product.id][0] == 1:  # the style itself: named, whatever the words
            scored.append(((1, 0, 0.0, 0), Found(product, match)))
            continue
        fits = int(bool(match and match.variants))
        scored.append(((*keys[product.id], fits), Found(product, match)))
    scored.sort(key=lambda pair: (tuple(-k for k in pair[0]), pair[1].product.id))
    return [found for _, found in scored][:limit]


_words_lock = threading.Lock()
_words_cache: CatalogWords | None = None
_words_version: tuple | None = None


def _catalog_version(db_session: Session) -> tuple:
    row = db_session.execute(
        select(
            func.count(Product.id),
            func.max(Product.id),
            select(func.count(Variant.id)).scalar_subquery(),
            select(func.max(Variant.id)).scalar_subquery(),
        )
    ).one()
    return tuple(row)


def catalog_words(*, db_session: Session) -> CatalogWords:
    """The catalog's words, rebuilt when products or variants have been added or removed
    (or after `invalidate_cache`)."""
    global _words_cache, _words_version
    version = _catalog_version(db_session)
    with _words_lock:
        if _words_cache is None or version != _words_version:
            products = list(db_session.scalars(select(Product)))
            _words_cache, _words_version = CatalogWords(products), version
        return _words_cache
