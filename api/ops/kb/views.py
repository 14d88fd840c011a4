"""Routes of /api/v1/kb."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from api.db import begin_write
from api.deps import Admin, DbSession, StaffOrService
from api.errors import ApiError
from api.ops.kb import articles, service
from api.ops.kb.models import KbArticle
from api.settings import get_settings
from opsdesk_ids import SKU_MAX_LENGTH, style_of

router = APIRouter(prefix="/kb", tags=["knowledge base"])


class KbHit(BaseModel):
    id: str
    title: str
    answer: str
    score: float
    source: str
    tags: list[str] = Field(
        default_factory=list,
        description="the article's topics, e.g. returns, shipping (empty for catalog facts)",
    )


class KbResults(BaseModel):
    items: list[KbHit]
    confident: bool


@router.get("/search", response_model=KbResults)
def search_kb(
    db: DbSession,
    _who: StaffOrService,
    q: Annotated[str, Query(min_length=1, max_length=1000)],
    sku: Annotated[
        str | None, Query(max_length=SKU_MAX_LENGTH, description="style code or SKU in focus")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=20)] = 5,
) -> KbResults:
    """Knowledge-base and catalog answers, best first, with a 0..1 score and whether the best
    one is good enough to give without hedging."""
    style = style_of(sku) if sku else None
    hits = service.search(db_session=db, q=q, style=style, limit=limit)
    return KbResults(
        items=[
            KbHit(
                id=h.id,
                title=h.title,
                answer=h.answer,
                score=h.score,
                source=h.source,
                tags=list(h.tags),
            )
            for h in hits
        ],
        confident=service.is_confident(hits),
    )


Tag = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
Question = Annotated[str, Field(min_length=1, max_length=300)]
NO_ARTICLE = {"description": "No such article"}
SlugPath = Annotated[str, Path(min_length=1, max_length=80, description="e.g. return-window")]


class ArticleView(BaseModel):
    slug: str
    title: str
    answer: str
    questions: list[str]
    tags: list[str]
    topic: str = Field(description="the help centre's topic, from the first tag")
    url: str = Field(description="the article's public page")
    updated_at: datetime


class ArticleList(BaseModel):
    items: list[ArticleView]
    next_cursor: str | None = None


class EditArticle(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"answer": "You have 30 days from delivery to return."}]},
    )
    title: str | None = Field(default=None, min_length=1, max_length=200)
    answer: str | None = Field(default=None, min_length=1, max_length=10_000)
    questions: list[Question] | None = Field(default=None, max_length=50)
    tags: list[Tag] | None = Field(
        default=None, min_length=1, max_length=20, description="the first one decides the topic"
    )


def article_view(article: KbArticle) -> ArticleView:
    topics = articles.load_topics(get_settings().store_dir)
    return ArticleView(
        slug=article.slug,
        title=article.title,
        answer=article.answer,
        questions=list(article.questions or []),
        tags=list(article.tags or []),
        topic=articles.topic_of(article, topics).slug,
        url=f"/help/articles/{article.slug}",
        updated_at=article.updated_at,
    )


@router.get("/articles", response_model=ArticleList)
def list_articles(db: DbSession, _who: StaffOrService) -> ArticleList:
    """Every knowledge-base article (a few dozen: one page)."""
    return ArticleList(items=[article_view(a) for a in articles.get_all(db_session=db)])


@router.get("/articles/{slug}", response_model=ArticleView, responses={404: NO_ARTICLE})
def get_article(slug: SlugPath, db: DbSession, _who: StaffOrService) -> ArticleView:
    return article_view(articles.get_by_slug_or_raise(db_session=db, slug=slug))


@router.patch(
    "/articles/{slug}",
    response_model=ArticleView,
    responses={404: NO_ARTICLE, 422: {"description": "Invalid edit"}},
)
def edit_article(slug: SlugPath, body: EditArticle, db: DbSession, who: Admin) -> ArticleView:
    """An admin's edit of an article (admin key), recorded in the audit log. The assistant and
    the help centre answer with the new text from the next request on: no retraining."""
    changes = body.model_dump(exclude_none=True)
    if "title" in changes:
        changes["title"] = changes["title"].strip()
    if "answer" in changes:
        changes["answer"] = changes["answer"].strip()
    if not all(changes.get(k, "x") for k in ("title", "answer")):
        raise ApiError(422, "invalid_article", "An article needs a title and an answer")
    begin_write(db)
    article = articles.get_by_slug_or_raise(db_session=db, slug=slug)
    articles.update(db_session=db, article=article, changes=changes, actor=who.name)
    db.commit()
    return article_view(article)
