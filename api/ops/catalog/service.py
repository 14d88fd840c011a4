"""The catalog: products, variants, and a small in-process cache of variant facts."""

from __future__ import annotations

import functools
import re
import threading
import time
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.ops.catalog.models import Product, Variant
from api.ops.common import fuzzy
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
class VariantMatch:
    """The colour and size a query names, in the catalog's spelling ("navvy medum": navy,
    M), and the product's variants that have them (none: the product doesn't come so)."""

    colour: str | None
    size: str | None
    variants: list[Variant]


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
    # Names and aliases are few (one row per style): match in Python on word overlap.
    words = catalog_words(db_session=db_session)
    query = words.read(q)
    style = q.strip().upper()
    scored = []
    for product in db_session.scalars(stmt.limit(None)):
        if style == product.style:
            scored.append(((1, 0, 0.0, 0), Found(product, words.match(product, query))))
            continue
        covered: set[int] = set()
        best = 0.0
        for text in (product.name, *product.aliases):
            hits, score = _text_score(query, text)
            covered |= hits
            best = max(best, score)
        if best < 0.5:
            continue
        match = words.match(product, query)
        fits = int(bool(match and match.variants))
        scored.append(((0, len(covered), best, fits), Found(product, match)))
    scored.sort(key=lambda pair: (tuple(-k for k in pair[0]), pair[1].product.id))
    return [found for _, found in scored][:limit]


def _text_score(query: Query, text: str) -> tuple[set[int], float]:
    """Which of the query's words name this text (a name or alias), and how well the query
    names it: the share of the text's words it names, plus 0.1 a query word, or more than
    10 when the query holds the whole text."""
    t = _parse(text)
    if not t.words:
        return set(), 0.0
    hits: set[int] = set()
    named: set[int] = set()
    for i, s in enumerate(query.stems):
        at = t.stems.get(s) or t.joined.get(s)
        if at:
            hits.add(i)
            named.update(at)
    # Two query words the text writes as one ("zip up": "zipup").
    for i in range(len(query.stems) - 1):
        if i in hits or i + 1 in hits:
            continue
        at = t.stems.get(_stem(query.words[i] + query.words[i + 1]))
        if at:
            hits.update((i, i + 1))
            named.update(at)
    if not hits:
        return hits, 0.0
    score = len(named) / len(t.words) + len(hits) * 0.1
    if t.phrase in query.phrase:
        score = max(score, 10.0 + len(t.words))
    return hits, score


@dataclass(frozen=True)
class _Text:
    words: tuple[str, ...]
    stems: dict[str, tuple[int, ...]]  # the stem of each word: where it is
    # Two words the text writes apart and a query may write as one ("crew neck": "crewneck").
    joined: dict[str, tuple[int, ...]]
    phrase: str  # " crew neck sweater "


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> _Text:
    """A name, alias or colour, taken apart once (names change rarely; the key is the text)."""
    words = tuple(_words(text))
    stems: dict[str, tuple[int, ...]] = {}
    for i, w in enumerate(words):
        stems[_stem(w)] = (*stems.get(_stem(w), ()), i)
    joined: dict[str, tuple[int, ...]] = {
        _stem(words[i] + words[i + 1]): (i, i + 1) for i in range(len(words) - 1)
    }
    return _Text(words=words, stems=stems, joined=joined, phrase=f" {' '.join(words)} ")


@dataclass(frozen=True)
class Query:
    """A customer's query as the catalog's words: misspellings and abbreviations corrected."""

    words: list[str]  # without stop words
    stems: list[str]
    phrase: str  # every word, space-separated with a space either side
    sizes: list[str]  # the sizes it names, in catalog spelling (M, XL, 32)
    said: frozenset[str]  # every word, for the colour


# Sizes in words, longest first (the customer's words are corrected before: "medum", "xtra").
_SIZE_PHRASES: list[tuple[tuple[str, ...], str]] = [
    (("extra", "extra", "large"), "XXL"),
    (("extra", "large"), "XL"),
    (("extra", "small"), "XS"),
    (("x", "large"), "XL"),
    (("x", "small"), "XS"),
    (("xx", "large"), "XXL"),
    (("one", "size"), "OS"),
    (("xxlarge",), "XXL"),
    (("xlarge",), "XL"),
    (("xsmall",), "XS"),
    (("small",), "S"),
    (("medium",), "M"),
    (("large",), "L"),
    (("2xl",), "XXL"),
]
_SIZE_CODES = frozenset(["xxs", "xs", "s", "m", "l", "xl", "xxl", "os"])
# Short forms of size words (too short to be corrected by closeness) and other spellings.
_SPELLINGS = {
    "gray": "grey",
    "xtra": "extra",
    "sm": "small",
    "sml": "small",
    "med": "medium",
    "mdm": "medium",
    "lg": "large",
    "lge": "large",
    "lrg": "large",
}
_SIZE_WORDS = ["extra", "small", "medium", "large", "xsmall", "xlarge", "xxlarge", "size"]


class CatalogWords:
    """The catalog's words: names, aliases, colours and sizes, for reading queries."""

    def __init__(self, products: list[Product]) -> None:
        names: list[str] = []
        colours: set[str] = set()
        sizes: set[str] = set()
        for p in products:
            for text in (p.name, *p.aliases):
                names.extend(_words(text))
            for v in p.variants:
                colours.add(v.colour.lower())
                sizes.add(v.size.upper())
        colour_words = [w for c in colours for w in _words(c)]
        known = {_stem(w) for w in names} | _STOPWORDS | set(_SPELLINGS)
        known |= {w for p in products for w in _words(p.category)}
        self.vocabulary = fuzzy.Vocabulary([*names, *colour_words, *_SIZE_WORDS], known=known)
        # Longest first: "sky blue" before "blue".
        self.colours = sorted(colours, key=lambda c: (-len(_words(c)), c))
        self.sizes = frozenset(sizes)

    def read(self, q: str) -> Query:
        all_words = [self._correct(w) for w in _words(_APOSTROPHE.sub("", q))]
        words = [w for w in all_words if w not in _STOPWORDS]
        return Query(
            words=words,
            stems=[_stem(w) for w in words],
            phrase=f" {' '.join(all_words)} ",
            sizes=self._sizes(all_words),
            said=frozenset(all_words),
        )

    def _correct(self, word: str) -> str:
        if word in _SPELLINGS:
            return _SPELLINGS[word]
        if _stem(word) in self.vocabulary:  # "hoodies": the catalog's "hoodie"
            return word
        return self.vocabulary.correct(word)

    def _sizes(self, words: list[str]) -> list[str]:
        found = []
        i = 0
        while i < len(words):
            for phrase, size in _SIZE_PHRASES:
                if tuple(words[i : i + len(phrase)]) == phrase:
                    found.append(size)
                    i += len(phrase)
                    break
            else:
                w = words[i]
                if w in _SIZE_CODES or (w.isdigit() and w in self.sizes):
                    found.append(w.upper())
                i += 1
        return found

    def match(self, product: Product, query: Query) -> VariantMatch | None:
        """The colour and size the query names for this product, and its variants with them.
        Words of the product's own name ("chambray dress", "digital gift card") name no
        colour."""
        own = {w for text in (product.name, *product.aliases) for w in _parse(text).words}
        said = query.said - own
        colour = _colour_of(sorted({v.colour for v in product.variants}), said)
        if colour is None:
            colour = next((c for c in self.colours if said.issuperset(_parse(c).words)), None)
        sizes = {v.size.upper(): v.size for v in product.variants}
        size = next((sizes[s] for s in query.sizes if s in sizes), None)
        if size is None:
            size = next((s for s in query.sizes if s in self.sizes), None)
        if colour is None and size is None:
            return None
        variants = [
            v
            for v in product.variants
            if (colour is None or v.colour.lower() == colour.lower())
            and (size is None or v.size == size)
        ]
        return VariantMatch(colour=colour, size=size, variants=variants)


def _colour_of(colours: list[str], said: frozenset[str] | set[str]) -> str | None:
    """The one of these colours the words name: wholly ("sky blue"), else the only one they
    name in part ("blue" of a product in sky blue and sand)."""
    whole = [c for c in colours if said.issuperset(_parse(c).words)]
    if whole:
        return max(whole, key=lambda c: len(_parse(c).words))
    part = [c for c in colours if not said.isdisjoint(_parse(c).words)]
    return part[0] if len(part) == 1 else None


_APOSTROPHE = re.compile(r"(?<=\w)['\u2019](?=\w)")
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
    return _WORD.findall(text.lower())


_WORD = re.compile(r"[^\W_]+")  # letters and digits


def _stem(word: str) -> str:
    """The singular, roughly: "hoodies" hoodie, "dresses" dress, "shoes" shoe, "boxes" box."""
    if word.endswith("ies") and len(word) > 5:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "zes", "ches", "shes")) and len(word) > 4:
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word
