"""Knowledge-base search: BM25 over the articles (title, question variants, tags, answer),
plus answers built from the catalog's product attributes. The index is rebuilt whenever an
article or product changes, so edits show without retraining anything."""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.ops.catalog.models import Product
from api.ops.common import fuzzy
from api.ops.kb.models import KbArticle

K1, B = 1.2, 0.75
# The share of the query's information a best answer must cover to be given without hedging.
CONFIDENT_COVERAGE = 0.5

_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "could",
        "do",
        "does",
        "did",
        "for",
        "from",
        "had",
        "has",
        "have",
        "hi",
        "hello",
        "hey",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "just",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "please",
        "so",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "u",
        "ur",
        "us",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "im",
        "i'm",
        "it's",
        "thanks",
        "thank",
        "pls",
        "plz",
        # Filler customers wrap a question in: "how long have I got to send things back"
        "got",
        "get",
        "stuff",
        "thing",
        "things",
        "ive",
        "gonna",
        "wanna",
        # Replies and negations say nothing about the topic: "thats not it", "no", "ok"
        "no",
        "not",
        "nope",
        "yes",
        "yeah",
        "yep",
        "ok",
        "okay",
    ]
)
# "send it back", "sending the jeans back", "take them back": the customer means return.
_RETURN_PHRASE = re.compile(
    r"\b(?:send|sending|sent|take|taking|bring|bringing|mail|mailing|post|posting)"
    r"((?:\s+[a-z']+){0,2}?)\s+back\b"
)
_SYNONYMS = {
    "wash": "care",
    "washing": "care",
    "clean": "care",
    "dry": "care",
    "iron": "care",
    "fabric": "material",
    "made": "material",
    "materials": "material",
    "cotton": "material",
    "fit": "fit",
    "fits": "fit",
    "sizing": "size",
    "sizes": "size",
    "small": "size",
    "large": "size",
    "big": "size",
    "tight": "size",
    "measurements": "dimensions",
    "delivery": "shipping",
    "ship": "shipping",
    "shipped": "shipping",
    "deliver": "shipping",
    "postage": "shipping",
    "refunds": "refund",
    "returns": "return",
    "returning": "return",
    "pay": "payment",
    "paying": "payment",
    "afterpay": "klarna",
    "installments": "klarna",
    "abroad": "international",
    "overseas": "international",
    "canada": "international",
    "uk": "international",
    "europe": "international",
    "australia": "international",
}


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", _RETURN_PHRASE.sub(r" return\1 ", text.lower()))


def tokens(text: str, vocabulary: fuzzy.Vocabulary | None = None) -> list[str]:
    """The text's search terms; with a vocabulary, misspelt words are read as its nearest
    words first ("retrun" return, "paypall" paypal)."""
    out = []
    for w in words(text):
        if vocabulary is not None:
            w = vocabulary.correct(w)
        if w in _STOP or len(w) < 2:
            continue
        w = _SYNONYMS.get(w, w)
        if len(w) > 4 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        out.append(w)
    return out


@dataclass(frozen=True)
class Doc:
    id: str
    title: str
    answer: str
    source: str  # faq or catalog
    style: str | None
    category: str | None
    terms: Counter[str]
    length: int
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hit:
    id: str
    title: str
    answer: str
    score: float
    bm25: float
    source: str
    tags: tuple[str, ...] = ()


_ATTRIBUTE_QUESTIONS = {
    "material": "What is the {name} made of?",
    "care": "How do I wash and care for the {name}?",
    "fit": "How does the {name} fit? Sizing advice",
    "dimensions": "What are the measurements and dimensions of the {name}?",
}


class Index:
    def __init__(self, docs: list[Doc], vocabulary: fuzzy.Vocabulary | None = None) -> None:
        self.docs = docs
        self.vocabulary = vocabulary
        self.avg_len = sum(d.length for d in docs) / max(len(docs), 1)
        df: Counter[str] = Counter()
        for d in docs:
            df.update(d.terms.keys())
        n = len(docs)
        self.idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        self.max_idf = math.log(1 + (n + 0.5) / 0.5) if n else 1.0

    def search(
        self, query: str, *, style: str | None, limit: int, source: str | None = None
    ) -> list[Hit]:
        q = tokens(query, self.vocabulary)
        if not q:
            return []
        q_weight = sum(self.idf.get(t, self.max_idf) for t in set(q))
        hits = []
        for d in self.docs:
            if source and d.source != source:
                continue
            score = 0.0
            matched = 0.0
            for t in set(q):
                tf = d.terms.get(t, 0)
                if not tf:
                    continue
                idf = self.idf[t]
                matched += idf
                score += idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * d.length / self.avg_len))
            if score <= 0:
                continue
            if style and d.style == style:
                score *= 1.5
                matched = min(q_weight, matched + 0.25 * q_weight)
            elif style and d.style and d.style != style:
                score *= 0.5
            hits.append(
                Hit(
                    id=d.id,
                    title=d.title,
                    answer=d.answer,
                    bm25=score,
                    score=round(min(matched / q_weight, 1.0), 3),
                    source=d.source,
                    tags=d.tags,
                )
            )
        hits.sort(key=lambda h: (-h.bm25, h.id))
        return hits[:limit]


def _article_text(a: KbArticle) -> str:
    return " ".join([a.title, *a.questions, *a.tags])


def _article_doc(a: KbArticle) -> Doc:
    # Question variants and title say what the article answers: weigh them double.
    head = _article_text(a)
    terms = Counter(tokens(head) * 2 + tokens(a.answer))
    return Doc(
        id=f"faq:{a.slug}",
        title=a.title,
        answer=a.answer,
        source="faq",
        style=a.style,
        category=a.category,
        terms=terms,
        length=sum(terms.values()),
        tags=tuple(a.tags or ()),
    )


def _product_names(p: Product) -> str:
    return " ".join([p.name, *(p.aliases or [])])


def _product_docs(p: Product) -> list[Doc]:
    docs = []
    names = _product_names(p)
    for attr, template in _ATTRIBUTE_QUESTIONS.items():
        value = (p.attributes or {}).get(attr)
        if not value:
            continue
        title = template.format(name=p.name)
        answer = f"{p.name} — {attr}: {value}"
        terms = Counter(tokens(f"{title} {names} {attr}") * 2 + tokens(value))
        docs.append(
            Doc(
                id=f"catalog:{p.style}:{attr}",
                title=title,
                answer=answer,
                source="catalog",
                style=p.style,
                category=p.category,
                terms=terms,
                length=sum(terms.values()),
            )
        )
    return docs


_lock = threading.Lock()
_index: Index | None = None
_version: tuple | None = None


def _current_version(db_session: Session) -> tuple:
    a = db_session.execute(select(func.count(KbArticle.id), func.max(KbArticle.updated_at))).one()
    p = db_session.execute(select(func.count(Product.id), func.max(Product.id))).one()
    return (a[0], str(a[1]), p[0], p[1])


def get_index(*, db_session: Session) -> Index:
    """The search index, rebuilt when articles or products have changed."""
    global _index, _version
    version = _current_version(db_session)
    with _lock:
        if _index is None or version != _version:
            docs: list[Doc] = []
            seen: list[str] = []  # every word the index was built from, for spelling
            for a in db_session.scalars(select(KbArticle)):
                docs.append(_article_doc(a))
                seen += words(f"{_article_text(a)} {a.answer}")
            for p in db_session.scalars(select(Product)):
                docs.extend(_product_docs(p))
                attributes = " ".join(str(v) for v in (p.attributes or {}).values())
                colours = " ".join(sorted({v.colour for v in p.variants}))
                seen += words(f"{_product_names(p)} {attributes} {colours}")
            seen += [w for template in _ATTRIBUTE_QUESTIONS.values() for w in words(template)]
            # Stop words and synonyms are words too: "plese" is read as "please" and dropped,
            # "delivry" as "delivery".
            seen += [*_STOP, *_SYNONYMS]
            _index, _version = Index(docs, fuzzy.Vocabulary(seen)), version
        return _index


def search(
    *,
    db_session: Session,
    q: str,
    style: str | None = None,
    limit: int = 5,
    source: str | None = None,
) -> list[Hit]:
    """Best answers first; `score` is how much of the question the answer covers (0..1).
    `source` keeps one kind: `faq` (the articles) or `catalog` (product facts)."""
    return get_index(db_session=db_session).search(
        q, style=style.upper() if style else None, limit=limit, source=source
    )


def spelled_as_understood(index: Index, q: str) -> str | None:
    """The query with each misspelt word replaced by the one the search read it as; None when
    the search read every word as written."""
    vocabulary = index.vocabulary
    written = re.findall(r"[a-z0-9']+", q.lower())
    read = [vocabulary.correct(w) if vocabulary else w for w in written]
    return " ".join(read) if read != written else None


def is_confident(hits: list[Hit]) -> bool:
    return bool(hits) and hits[0].score >= CONFIDENT_COVERAGE
