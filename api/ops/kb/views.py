"""Routes of /api/v1/kb."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import DbSession, StaffOrService
from api.ops.kb import service
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
