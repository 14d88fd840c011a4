"""A conversation: its page, earlier messages, header, events, reply and notes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import (
    HTMLResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)

from api.console import conversation as conversation_view
from api.console import service
from api.console.web import (
    MAX_NOTE_CHARS,
    MAX_REPLY_CHARS,
    SNOOZE_CHOICES,
    Csrf,
    Me,
    answer_form,
    check_csrf,
    event_stream,
    render_page,
)
from api.db import begin_write
from api.deps import DbSession
from api.hub import get_hub
from api.ops.conversations import flows as conversation_flows
from api.ops.conversations import service as conversations
from api.ops.tickets import service as tickets
from api.ops.tickets.service import TicketStatus
from opsdesk_ids import MAX_ROW_ID

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/conversations/{conversation_id}", response_class=HTMLResponse)
def conversation_page(
    conversation_id: str,
    request: Request,
    db: DbSession,
    me: Me,
    notice: str = "",
    error: str = "",
    before: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
) -> HTMLResponse:
    """The newest turns (or, without the script, those `before` a turn), the header and the
    context panel."""
    conversation = conversations.get(db_session=db, conversation_id=conversation_id[:120])
    if conversation is None:
        return render_page(
            request, "refused.html", status_code=404, reason="No such conversation.", me=me
        )
    page = conversation_view.conversation_page(
        db_session=db, conversation=conversation, before_id=before
    )
    return render_page(
        request,
        "conversation.html",
        me=me,
        page=page,
        head=page.head,
        canned=conversation_view.canned_responses(page, me.first_name),
        priorities=conversation_view.PRIORITIES,
        snooze_choices=list(SNOOZE_CHOICES),
        notice=notice[:200],
        error=error[:300],
        older_window=before is not None,
        customer_left=conversation.customer_left_at is not None,
    )


@router.get("/conversations/{conversation_id}/messages", response_class=HTMLResponse)
def conversation_messages(
    conversation_id: str,
    request: Request,
    db: DbSession,
    me: Me,
    after: Annotated[int, Query(ge=0, le=MAX_ROW_ID)] = 0,
    before: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
) -> HTMLResponse:
    """Transcript rows for the page: the turns after `after` to append, or one page of the
    turns `before` a turn to put above the others (with the next "Earlier messages")."""
    cid = conversation_id[:120]
    if before is not None:
        older = conversation_view.transcript_before(
            db_session=db, conversation_id=cid, before_id=before
        )
        return render_page(
            request,
            "_messages.html",
            messages=older.messages,
            me=me,
            conversation_id=cid,
            earlier_before=older.first_id if older.earlier else None,
        )
    messages = conversation_view.transcript_after(
        db_session=db, conversation_id=cid, after_id=after
    )
    return render_page(request, "_messages.html", messages=messages, me=me, conversation_id=cid)


@router.get("/conversations/{conversation_id}/head", response_class=HTMLResponse)
def conversation_head(conversation_id: str, request: Request, db: DbSession, me: Me) -> Response:
    """The header (ticket status, priority, assignee, mode, actions), which the page swaps in
    when the ticket changes."""
    conversation = conversations.get(db_session=db, conversation_id=conversation_id[:120])
    if conversation is None:
        return PlainTextResponse("No such conversation.", status_code=404)
    head = conversation_view.head_of(db_session=db, conversation=conversation)
    return render_page(request, "_conversation_head.html", me=me, head=head)


@router.get("/conversations/{conversation_id}/events")
async def conversation_events(conversation_id: str, request: Request, me: Me) -> StreamingResponse:
    """Server-sent events: `message` for each new or delivered turn, `tickets` on changes."""
    return await event_stream(request, conversation_id[:120])


@router.post("/conversations/{conversation_id}/reply")
def reply(
    conversation_id: str,
    request: Request,
    db: DbSession,
    me: Me,
    text: Annotated[str, Form(max_length=MAX_REPLY_CHARS)] = "",
    csrf_token: Csrf = "",
) -> Response:
    """The same path as POST /api/v1/conversations/{id}/messages: stored, then delivered on
    the customer's channel. An unowned ticket becomes the replying agent's."""
    check_csrf(me, csrf_token)
    url = f"/console/conversations/{conversation_id[:120]}"
    if not text.strip():
        return answer_form(url, request, error="Write a reply first.")
    begin_write(db)
    message = conversation_flows.agent_reply(
        db_session=db,
        conversation_id=conversation_id[:120],
        text=text.strip(),
        agent_name=me.first_name,
        actor=me.email,
    )
    ticket = conversation_view.ticket_of(db_session=db, conversation_id=message.conversation_id)
    if ticket is not None and ticket.status != TicketStatus.resolved and not ticket.assignee_id:
        tickets.update(db_session=db, ticket=ticket, actor=me.email, assignee_id=me.agent_id)
    db.commit()
    get_hub().deliver_soon(message.conversation_id)
    return answer_form(url, request)


@router.post("/conversations/{conversation_id}/notes")
def add_note(
    conversation_id: str,
    request: Request,
    db: DbSession,
    me: Me,
    text: Annotated[str, Form(max_length=MAX_NOTE_CHARS)] = "",
    csrf_token: Csrf = "",
) -> Response:
    """A private note on the conversation's ticket: the team sees it, the customer never."""
    check_csrf(me, csrf_token)
    url = f"/console/conversations/{conversation_id[:120]}"
    begin_write(db)
    ticket = conversation_view.ticket_of(db_session=db, conversation_id=conversation_id[:120])
    if ticket is None:
        return answer_form(url, request, error="This conversation has no ticket to note on.")
    if not text.strip():
        return answer_form(url, request, error="Write the note first.")
    service.add_note(
        db_session=db,
        ticket=ticket,
        agent_id=me.agent_id,
        author_name=me.name,
        text=text,
        actor=me.email,
    )
    db.commit()
    return answer_form(f"{url}#notes", request, notice="Note saved (only the team sees it).")
