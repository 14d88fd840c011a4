"""Reading a customer's product query in the catalog's words: misspellings corrected, the
colour and size it names, and how well it names a product's name or alias."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from api.ops.catalog.models import Product, Variant
from api.ops.common import fuzzy


@dataclass(frozen=True)
class VariantMatch:
    """The colour and size a query names, in the catalog's spelling ("navvy medum": navy,
    M), and the product's variants that have them (none: the product doesn't come so)."""

    colour: str | None
    size: str | None
    variants: list[Variant]


def text_score(query: Query, text: str) -> tuple[set[int], float]:
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
