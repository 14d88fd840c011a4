"""The queue page, its live fragment and its event stream."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import (
    HTMLResponse,
    StreamingResponse,
)
from markupsafe import Markup
from sqlalchemy.orm import Session

from api.console import live, service
from api.console.accounts import SignedIn
from api.console.web import (
    PAGE_HEADERS,
    Me,
    event_stream,
    render_page,
    templates,
)
from api.db import utcnow
from api.deps import DbSession
from api.ops.tickets.service import TicketStatus

router = APIRouter(prefix="/console", include_in_schema=False)


# -- the queue ------------------------------------------------------------------------------


def _filters(
    status: str = "", channel: str = "", reason: str = "", assignee: str = "", mine: str = ""
) -> service.QueueFilters:
    return service.QueueFilters(
        status=status[:20],
        channel=channel[:20],
        reason=reason[:40],
        assignee=assignee[:12],
        mine=mine in ("1", "true", "on"),
    )


Filters = Annotated[service.QueueFilters, Depends(_filters)]


# The queue's rows are the same for every agent with the same filters: rendered once per
# change of the tickets table (and per half minute, for the SLA countdown), then given each
# agent's CSRF token and "mine" count. With many agents watching, a new handoff costs one
# render, not one per open page.
CSRF_SLOT = "__opsdesk_csrf_slot__"
MINE_SLOT = "__opsdesk_mine_slot__"
_fragments: OrderedDict[tuple[Any, ...], str] = OrderedDict()
FRAGMENTS_KEPT = 64


def _queue_fragment(
    request: Request, db: Session, filters: service.QueueFilters, me: SignedIn
) -> str:
    version = live.tickets_fingerprint(db)
    key = (
        version,
        tuple(sorted(filters.as_query().items())),
        me.agent_id if filters.mine else None,
        int(time.time() // 30),
    )
    html = _fragments.get(key)
    if html is None:
        found = service.queue(db_session=db, filters=filters, agent_id=me.agent_id)
        html = templates.get_template("_queue_live.html").render(
            request=request,
            queue=found,
            filters=filters,
            query=urlencode(filters.as_query()),
            now=utcnow(),
            csrf_token=CSRF_SLOT,
            mine_count=MINE_SLOT,
        )
        _fragments[key] = html
        while len(_fragments) > FRAGMENTS_KEPT:
            _fragments.popitem(last=False)
    mine = service.mine_count(db_session=db, agent_id=me.agent_id)
    return html.replace(CSRF_SLOT, me.csrf_token).replace(MINE_SLOT, str(mine))


@router.get("", response_class=HTMLResponse)
def queue_page(
    request: Request,
    db: DbSession,
    me: Me,
    filters: Filters,
    notice: str = "",
    error: str = "",
) -> HTMLResponse:
    return render_page(
        request,
        "queue.html",
        me=me,
        queue_live=Markup(_queue_fragment(request, db, filters, me)),
        choices=service.filter_choices(db_session=db),
        filters=filters,
        query=urlencode(filters.as_query()),
        statuses=[s.value for s in TicketStatus],
        notice=notice[:200],
        error=error[:300],
    )


@router.get("/queue/live", response_class=HTMLResponse)
def queue_live(request: Request, db: DbSession, me: Me, filters: Filters) -> HTMLResponse:
    """The counts and the table of the queue, for the page to swap in on a `tickets` event."""
    return HTMLResponse(_queue_fragment(request, db, filters, me), headers=PAGE_HEADERS)


@router.get("/events")
async def queue_events(request: Request, me: Me) -> StreamingResponse:
    """Server-sent events for the queue: `tickets` whenever any ticket changes."""
    return await event_stream(request, None)
