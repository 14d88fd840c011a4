"""The help centre (/help): the knowledge base the assistant answers from, as public pages in
the shop's look: topics, one page per article at a stable slug URL, search that forgives
typos, and the JSON search the chat widget uses to suggest articles while the customer types.

Every page reads the articles when it is asked for, so an admin's edit (PATCH
/api/v1/kb/articles/{slug}) shows at once. Article text is plain text: the templates escape
it, and paragraphs and "- " lists are the only structure read from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.deps import DbSession
from api.ops.kb import articles, service
from api.ops.kb.articles import Topic
from api.ops.kb.models import KbArticle
from api.settings import get_settings
from api.storefront.pages import page, templates

router = APIRouter(prefix="/help", include_in_schema=False)

MAX_QUERY_CHARS = 200
RESULTS_PER_PAGE = 10
SNIPPET_CHARS = 170
RELEVANT_SHARE = 0.5
RELATED_COUNT = 5


@dataclass(frozen=True)
class Block:
    kind: str  # "p" or "ul"
    lines: list[str]


def blocks(text: str) -> list[Block]:
    """Paragraphs (separated by a blank line) and lists (every line starting with "- ")."""
    found = []
    for chunk in text.replace("\r\n", "\n").split("\n\n"):
        lines = [ln.strip() for ln in chunk.split("\n") if ln.strip()]
        if not lines:
            continue
        if all(ln.startswith("- ") for ln in lines):
            found.append(Block("ul", [ln[2:].strip() for ln in lines]))
        else:
            found.append(Block("p", [" ".join(lines)]))
    return found


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0].rstrip(",;:.") + "…"


templates.env.globals["snippet"] = snippet


def _topics() -> tuple[Topic, ...]:
    return articles.load_topics(get_settings().store_dir)


def _by_topic(all_articles: list[KbArticle]) -> list[tuple[Topic, list[KbArticle]]]:
    topics = _topics()
    grouped: dict[str, list[KbArticle]] = {t.slug: [] for t in topics}
    for article in all_articles:
        grouped[articles.topic_of(article, topics).slug].append(article)
    return [(t, grouped[t.slug]) for t in topics if grouped[t.slug]]


def _not_found(request: Request, what: str) -> HTMLResponse:
    return page(request, "help_missing.html", status_code=404, what=what, query="")


@router.get("", response_class=HTMLResponse, name="help_centre")
def help_centre(request: Request, db: DbSession) -> HTMLResponse:
    """Search and every topic with its articles."""
    return page(
        request,
        "help_index.html",
        groups=_by_topic(articles.get_all(db_session=db)),
        query="",
    )


@router.get("/topics/{topic_slug}", response_class=HTMLResponse, name="help_topic")
def help_topic(topic_slug: str, request: Request, db: DbSession) -> HTMLResponse:
    for topic, listed in _by_topic(articles.get_all(db_session=db)):
        if topic.slug == topic_slug:
            return page(request, "help_topic.html", topic=topic, listed=listed, query="")
    return _not_found(request, "topic")


@router.get("/articles/{slug}", response_class=HTMLResponse, name="help_article")
def help_article(slug: str, request: Request, db: DbSession) -> HTMLResponse:
    everything = articles.get_all(db_session=db)
    article = next((a for a in everything if a.slug == slug), None)
    if article is None:
        return _not_found(request, "article")
    topics = _topics()
    topic = articles.topic_of(article, topics)
    same_topic = [a for a in everything if articles.topic_of(a, topics) == topic]
    related = [a for a in same_topic if a.slug != slug][:RELATED_COUNT]
    return page(
        request,
        "help_article.html",
        article=article,
        body=blocks(article.answer),
        topic=topic,
        related=related,
        query="",
    )


class Suggestion(BaseModel):
    slug: str
    title: str
    url: str
    snippet: str


class Suggestions(BaseModel):
    query: str
    understood_as: str | None = Field(
        description="the query as the search read it, when it corrected a misspelling"
    )
    items: list[Suggestion]


def search_articles(db: Session, q: str, limit: int) -> Suggestions:
    """Articles for a question, best first, with the query as the search read it."""
    # One look at the index (one check of its version) for the search and the spelling.
    index = service.get_index(db_session=db)
    hits = index.search(q, style=None, limit=limit, source="faq")
    # Answers that cover less than half of what the best one covers are noise on a results
    # page: "return policy" would list every article that says "return".
    hits = [h for h in hits if h.score >= hits[0].score * RELEVANT_SHARE] if hits else []
    understood = service.spelled_as_understood(index, q)
    return Suggestions(
        query=q,
        understood_as=understood,
        items=[
            Suggestion(
                slug=h.id.removeprefix("faq:"),
                title=h.title,
                url=f"/help/articles/{h.id.removeprefix('faq:')}",
                snippet=snippet(h.answer),
            )
            for h in hits
        ],
    )


@router.get("/search", response_class=HTMLResponse, name="help_search")
def help_search(request: Request, db: DbSession, q: str = "") -> HTMLResponse:
    """Results for a question in the customer's words, misspellings and all."""
    q = q.strip()
    if len(q) > MAX_QUERY_CHARS:
        return page(
            request,
            "help_search.html",
            status_code=422,
            query=q[:MAX_QUERY_CHARS],
            results=None,
            error=f"Please shorten your search to {MAX_QUERY_CHARS} characters or fewer.",
        )
    results = search_articles(db, q, RESULTS_PER_PAGE) if q else None
    return page(request, "help_search.html", query=q, results=results, error="")


@router.get("/search.json", response_model=Suggestions, name="help_search_json")
def help_search_json(
    db: DbSession,
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS)],
    limit: Annotated[int, Query(ge=1, le=10)] = 3,
) -> Suggestions:
    """The articles the chat widget suggests while the customer types (public: the help
    centre is; only article titles, links and the start of their answers)."""
    return search_articles(db, q.strip(), limit)
