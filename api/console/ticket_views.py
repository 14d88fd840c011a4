"""Ticket actions: claim, assign, priority, pending, reopen, resolve, hand back."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import (
    Response,
)
from sqlalchemy.orm import Session

from api.console import accounts
from api.console import conversation as conversation_view
from api.console.web import (
    SNOOZE_CHOICES,
    Csrf,
    Me,
    answer_form,
    check_csrf,
    safe_next,
)
from api.db import begin_write, utcnow
from api.deps import DbSession
from api.errors import ApiError
from api.hub import get_hub
from api.ops.conversations import service as conversations
from api.ops.tickets import service as tickets
from api.ops.tickets.models import Ticket
from api.ops.tickets.service import Priority, TicketStatus
from opsdesk_ids import parse_row_id

router = APIRouter(prefix="/console", include_in_schema=False)


# -- ticket actions -------------------------------------------------------------------------


def _ticket(db: Session, ticket_id: int) -> Ticket:
    begin_write(db)
    return tickets.get_or_raise(db_session=db, ticket_id=ticket_id)


def _where_after(ticket: Ticket, next: str | None) -> str:
    if next:
        return safe_next(next)
    if ticket.conversation_id:
        return f"/console/conversations/{ticket.conversation_id}"
    return "/console"


def _act(request: Request, db: Session, ticket: Ticket, next: str | None, fn: Any) -> Response:
    """Run one action in the request's transaction; a rule's refusal is shown to the agent."""
    try:
        notice = fn()
    except ApiError as exc:
        db.rollback()
        return answer_form(_where_after(ticket, next), request, error=exc.detail or exc.title)
    db.commit()
    return answer_form(_where_after(ticket, next), request, notice=notice or "")


@router.post("/tickets/{ticket_id}/claim")
def claim(
    ticket_id: int,
    request: Request,
    db: DbSession,
    me: Me,
    csrf_token: Csrf = "",
    next: Annotated[str | None, Form()] = None,
) -> Response:
    check_csrf(me, csrf_token)
    ticket = _ticket(db, ticket_id)

    def run() -> str:
        tickets.update(db_session=db, ticket=ticket, actor=me.email, assignee_id=me.agent_id)
        return f"Ticket #{ticket.id} is yours."

    return _act(request, db, ticket, next, run)


@router.post("/tickets/{ticket_id}/assign")
def assign(
    ticket_id: int,
    request: Request,
    db: DbSession,
    me: Me,
    assignee_id: Annotated[str, Form()] = "",
    csrf_token: Csrf = "",
    next: Annotated[str | None, Form()] = None,
) -> Response:
    check_csrf(me, csrf_token)
    ticket = _ticket(db, ticket_id)

    def run() -> str:
        if not assignee_id.isdigit():
            tickets.unassign(db_session=db, ticket=ticket, actor=me.email)
            return f"Ticket #{ticket.id} is back in the team's queue."
        agent_id = parse_row_id(assignee_id)  # None past the column's range, or for "²"
        agent = accounts.active_agent(db_session=db, agent_id=agent_id) if agent_id else None
        if agent is None:
            raise ApiError(422, "unknown_agent", "No such agent", "That agent has no account.")
        tickets.update(db_session=db, ticket=ticket, actor=me.email, assignee_id=agent.id)
        return f"Ticket #{ticket.id} is assigned to {agent.name}."

    return _act(request, db, ticket, next, run)


@router.post("/tickets/{ticket_id}/unassign")
def unassign(
    ticket_id: int,
    request: Request,
    db: DbSession,
    me: Me,
    csrf_token: Csrf = "",
    next: Annotated[str | None, Form()] = None,
) -> Response:
    check_csrf(me, csrf_token)
    ticket = _ticket(db, ticket_id)

    def run() -> str:
        tickets.unassign(db_session=db, ticket=ticket, actor=me.email)
        return f"Ticket #{ticket.id} is back in the team's queue."

    return _act(request, db, ticket, next, run)


@router.post("/tickets/{ticket_id}/priority")
def change_priority(
    ticket_id: int,
    request: Request,
    db: DbSession,
    me: Me,
    priority: Annotated[str, Form()] = "",
    csrf_token: Csrf = "",
) -> Response:
    check_csrf(me, csrf_token)
    ticket = _ticket(db, ticket_id)

    def run() -> str:
        if priority not in {p.value for p in Priority}:
            raise ApiError(422, "invalid_priority", "Unknown priority", "Choose a priority.")
        tickets.update(db_session=db, ticket=ticket, actor=me.email, priority=priority)
        return f"Priority is {priority}."

    return _act(request, db, ticket, None, run)


@router.post("/tickets/{ticket_id}/pending")
def set_pending(
    ticket_id: int,
    request: Request,
    db: DbSession,
    me: Me,
    snooze: Annotated[str, Form()] = "",
    csrf_token: Csrf = "",
) -> Response:
    check_csrf(me, csrf_token)
    ticket = _ticket(db, ticket_id)

    def run() -> str:
        wait = SNOOZE_CHOICES.get(snooze)
        until = utcnow() + wait if wait else None
        tickets.snooze(db_session=db, ticket=ticket, actor=me.email, until=until)
        return f"Snoozed until {until:%H:%M} UTC." if until else "Pending."

    return _act(request, db, ticket, None, run)


@router.post("/tickets/{ticket_id}/reopen")
def reopen(
    ticket_id: int, request: Request, db: DbSession, me: Me, csrf_token: Csrf = ""
) -> Response:
    check_csrf(me, csrf_token)
    ticket = _ticket(db, ticket_id)

    def run() -> str:
        tickets.update(db_session=db, ticket=ticket, actor=me.email, status=TicketStatus.open.value)
        ticket.snoozed_until = None
        return "Open again."

    return _act(request, db, ticket, None, run)


@router.post("/tickets/{ticket_id}/resolve")
def resolve(
    ticket_id: int, request: Request, db: DbSession, me: Me, csrf_token: Csrf = ""
) -> Response:
    """Resolve: the conversation goes back to the bot, which greets the customer."""
    check_csrf(me, csrf_token)
    ticket = _ticket(db, ticket_id)
    handed_back: list[str] = []

    def run() -> str:
        conversation_id = tickets.resolve(db_session=db, ticket=ticket, actor=me.email)
        if conversation_id:
            handed_back.append(conversation_id)
        return f"Ticket #{ticket.id} is resolved; the assistant has the conversation again."

    response = _act(request, db, ticket, None, run)
    for conversation_id in handed_back:
        get_hub().handed_back(conversation_id)
    return response


@router.post("/conversations/{conversation_id}/handback")
def hand_back(
    conversation_id: str, request: Request, db: DbSession, me: Me, csrf_token: Csrf = ""
) -> Response:
    """Give the conversation back to the bot and leave the ticket pending (not resolved)."""
    check_csrf(me, csrf_token)
    begin_write(db)
    conversation = conversations.get_or_raise(db_session=db, conversation_id=conversation_id[:120])
    was_human = conversation.mode == "human"
    conversations.set_mode(
        db_session=db, conversation_id=conversation.id, mode="bot", actor=me.email
    )
    ticket = conversation_view.ticket_of(db_session=db, conversation_id=conversation.id)
    if ticket is not None and ticket.status not in (TicketStatus.resolved, TicketStatus.pending):
        tickets.snooze(db_session=db, ticket=ticket, actor=me.email, until=None)
    db.commit()
    if was_human:
        get_hub().handed_back(conversation.id)
    return answer_form(
        f"/console/conversations/{conversation.id}",
        request,
        notice="The assistant has the conversation again; the ticket is pending.",
    )


# -- a conversation -------------------------------------------------------------------------
