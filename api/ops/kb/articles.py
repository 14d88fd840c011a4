"""Knowledge-base articles as people read and edit them: one article by its slug, all of them,
an admin's edit (audited), and the help centre's topics. The search index notices an edit by
itself (`service.get_index` compares the newest `updated_at`), so an edited answer is what the
assistant and the help centre give from the next request on, without retraining."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db import utcnow
from api.errors import ApiError
from api.ops.audit import service as audit
from api.ops.kb.models import KbArticle

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
EDITABLE = ("title", "answer", "questions", "tags")
OTHER_TOPIC = "more"


@dataclass(frozen=True)
class Topic:
    slug: str
    title: str
    summary: str
    tags: tuple[str, ...]


@functools.cache
def load_topics(store_dir: Path) -> tuple[Topic, ...]:
    """The help centre's topics from `help_topics.yml`, in page order, and the catch-all."""
    raw = yaml.safe_load((store_dir / "help_topics.yml").read_text())["topics"]
    topics = [Topic(t["slug"], t["title"], t["summary"], tuple(t.get("tags") or ())) for t in raw]
    topics.append(Topic(OTHER_TOPIC, "More answers", "Everything else we are asked.", ()))
    return tuple(topics)


def topic_of(article: KbArticle, topics: tuple[Topic, ...]) -> Topic:
    """The first topic listing the article's first tag, else the catch-all."""
    first = (article.tags or [""])[0]
    for topic in topics:
        if first in topic.tags:
            return topic
    return topics[-1]


def get_by_slug(*, db_session: Session, slug: str) -> KbArticle | None:
    if not SLUG.match(slug) or len(slug) > 80:
        return None
    return db_session.scalar(select(KbArticle).where(KbArticle.slug == slug))


def get_by_slug_or_raise(*, db_session: Session, slug: str) -> KbArticle:
    article = get_by_slug(db_session=db_session, slug=slug)
    if article is None:
        raise ApiError(404, "article_not_found", "No such article", f"No article {slug!r}.")
    return article


def get_all(*, db_session: Session) -> list[KbArticle]:
    """Every article, in the order the knowledge base lists them."""
    return list(db_session.scalars(select(KbArticle).order_by(KbArticle.id)))


def update(*, db_session: Session, article: KbArticle, changes: dict[str, Any], actor: str) -> bool:
    """Apply an admin's edit in the caller's transaction and audit which fields changed (with
    the previous title and answer, so an edit can be undone by hand). False: nothing changed."""
    changed = {k: v for k, v in changes.items() if k in EDITABLE and getattr(article, k) != v}
    if not changed:
        return False
    before = {k: getattr(article, k) for k in changed if k in ("title", "answer")}
    for name, value in changed.items():
        setattr(article, name, value)
    # Set here, not left to `onupdate`: the search index keys its rebuild on this time.
    article.updated_at = utcnow()
    audit.record(
        db_session=db_session,
        entity_type="kb_article",
        entity_id=article.slug,
        action="edited",
        actor=actor,
        detail={"fields": sorted(changed), "before": before},
    )
    db_session.flush()
    return True
