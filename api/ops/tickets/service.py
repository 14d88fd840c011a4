"""The human queue: tickets with priority, SLA and business hours."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api import metrics
from api.db import utcnow
from api.errors import ApiError
from api.ops.audit import service as audit
from api.ops.auth.models import Agent
from api.ops.conversations import service as conversations
from api.ops.tickets.models import Ticket
from opsdesk_ids import MAX_ROW_ID

SUPPORT_TZ = ZoneInfo("America/New_York")
OPENS, CLOSES = time(9, 0), time(18, 0)


class Priority(StrEnum):
    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


class TicketStatus(StrEnum):
    open = "open"
    pending = "pending"
    assigned = "assigned"
    resolved = "resolved"


SLA = {
    Priority.urgent: timedelta(hours=1),
    Priority.high: timedelta(hours=4),
    Priority.normal: timedelta(hours=24),
    Priority.low: timedelta(hours=72),
}
TICKET_TRANSITIONS = {
    TicketStatus.open: {TicketStatus.pending, TicketStatus.assigned, TicketStatus.resolved},
    TicketStatus.pending: {TicketStatus.open, TicketStatus.assigned, TicketStatus.resolved},
    TicketStatus.assigned: {TicketStatus.pending, TicketStatus.open, TicketStatus.resolved},
    TicketStatus.resolved: {TicketStatus.open},
}


def within_business_hours(moment: datetime) -> bool:
    local = moment.astimezone(SUPPORT_TZ)
    return local.weekday() < 5 and OPENS <= local.time() < CLOSES


def next_opening(moment: datetime) -> datetime:
    local = moment.astimezone(SUPPORT_TZ)
    day = local.date() if local.time() < OPENS else local.date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, OPENS, tzinfo=SUPPORT_TZ)


def customer_message(*, priority: str, now: datetime, has_email: bool) -> str:
    """What to tell the customer about the wait, honestly."""
    if within_business_hours(now):
        wait = "a few minutes" if priority in ("urgent", "high") else "about 15 minutes"
        return (
            "I've passed this to our support team. "
            f"A person will reply here, usually within {wait}."
        )
    opening = next_opening(now)
    when = f"{opening:%A} at {opening:%-I} {opening:%p} Eastern"
    if has_email:
        return (
            "I've passed this to our support team. They're offline right now (Monday to Friday, "
            f"9 AM to 6 PM Eastern), so a person will reply by email from {when}."
        )
    return (
        "I've passed this to our support team. They're offline right now (Monday to Friday, "
        f"9 AM to 6 PM Eastern); a person will reply here from {when}."
    )


def create(
    *,
    db_session: Session,
    conversation_id: str | None,
    channel: str,
    customer_email: str | None,
    order_number: str | None,
    reason: str,
    priority: str,
    summary: str,
    actor: str,
) -> Ticket:
    """Open a ticket in the caller's transaction; an open ticket of the same conversation is
    reused (a person is already on it), with the new summary appended. The conversation it
    names belongs to a person from now on: the assistant stays silent in it. Concurrent calls
    for one conversation make one ticket and keep every summary: the database allows one
    unresolved ticket per conversation, and the one found is locked before it is changed."""
    now = utcnow()
    if conversation_id:
        conversations.set_mode(
            db_session=db_session, conversation_id=conversation_id, mode="human", actor=actor
        )
        existing = _open_ticket_locked(db_session, conversation_id)
        if existing is not None:
            _append(existing, summary=summary, priority=priority, now=now)
            return existing
    ticket = Ticket(
        conversation_id=conversation_id,
        channel=channel,
        customer_email=customer_email.strip().lower() if customer_email else None,
        order_number=order_number,
        reason=reason,
        priority=priority,
        status=TicketStatus.open.value,
        summary=summary,
        sla_due_at=now + SLA[Priority(priority)],
        created_at=now,
        updated_at=now,
    )
    try:
        with db_session.begin_nested():
            db_session.add(ticket)
            db_session.flush()
    except IntegrityError:
        # Another request opened this conversation's ticket first (PostgreSQL waits for it to
        # commit before refusing ours): add to that one.
        assert conversation_id is not None
        existing = _open_ticket_locked(db_session, conversation_id)
        if existing is None:
            raise
        _append(existing, summary=summary, priority=priority, now=now)
        return existing
    audit.record(
        db_session=db_session,
        entity_type="ticket",
        entity_id=str(ticket.id),
        action="created",
        actor=actor,
        to_state=ticket.status,
        detail={"reason": reason, "priority": priority},
    )
    return ticket


def _open_ticket_locked(db_session: Session, conversation_id: str) -> Ticket | None:
    return db_session.scalar(
        select(Ticket)
        .where(Ticket.conversation_id == conversation_id, Ticket.status != TicketStatus.resolved)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _append(ticket: Ticket, *, summary: str, priority: str, now: datetime) -> None:
    ticket.summary = f"{ticket.summary}\n---\n{summary}".strip()
    if _rank(priority) > _rank(ticket.priority):
        ticket.priority = priority
        ticket.sla_due_at = min(ticket.sla_due_at, now + SLA[Priority(priority)])
    ticket.updated_at = now


def _rank(priority: str) -> int:
    return list(Priority).index(Priority(priority))


def get_or_raise(*, db_session: Session, ticket_id: int) -> Ticket:
    # An id past the column's range names no ticket (PostgreSQL would refuse the query).
    ticket = db_session.get(Ticket, ticket_id) if 0 < ticket_id <= MAX_ROW_ID else None
    if ticket is None:
        raise ApiError(404, "ticket_not_found", "Ticket not found")
    return ticket


def update(
    *,
    db_session: Session,
    ticket: Ticket,
    actor: str,
    status: str | None = None,
    priority: str | None = None,
    assignee_id: int | None = None,
) -> None:
    """Change status, priority or assignee; each change is audited."""
    now = utcnow()
    if status and status != ticket.status:
        if TicketStatus(status) not in TICKET_TRANSITIONS[TicketStatus(ticket.status)]:
            raise ApiError(
                409,
                "invalid_transition",
                "Status change not allowed",
                f"a ticket that is {ticket.status} cannot become {status}",
            )
        if (
            ticket.status == TicketStatus.resolved
            and ticket.conversation_id
            and _open_ticket_locked(db_session, ticket.conversation_id) is not None
        ):
            raise ApiError(
                409,
                "conversation_has_open_ticket",
                "This conversation already has an open ticket",
                "Add to the open ticket instead of reopening this one.",
            )
        audit.record(
            db_session=db_session,
            entity_type="ticket",
            entity_id=str(ticket.id),
            action="status_changed",
            actor=actor,
            from_state=ticket.status,
            to_state=status,
        )
        ticket.status = status
        if status == TicketStatus.resolved:
            ticket.resolved_at = now
        elif ticket.resolved_at:
            ticket.resolved_at = None
    if priority and priority != ticket.priority:
        audit.record(
            db_session=db_session,
            entity_type="ticket",
            entity_id=str(ticket.id),
            action="priority_changed",
            actor=actor,
            from_state=ticket.priority,
            to_state=priority,
        )
        ticket.priority = priority
        ticket.sla_due_at = ticket.created_at + SLA[Priority(priority)]
    if assignee_id is not None and assignee_id != ticket.assignee_id:
        agent = db_session.get(Agent, assignee_id)
        if agent is None or not agent.active:
            raise ApiError(
                422, "unknown_agent", "No active agent has that id", f"assignee_id {assignee_id}"
            )
        audit.record(
            db_session=db_session,
            entity_type="ticket",
            entity_id=str(ticket.id),
            action="assigned",
            actor=actor,
            detail={"assignee_id": assignee_id},
        )
        ticket.assignee_id = assignee_id
        if ticket.status == TicketStatus.open:
            ticket.status = TicketStatus.assigned.value
    ticket.updated_at = now


def unassign(*, db_session: Session, ticket: Ticket, actor: str) -> None:
    """Put the ticket back in the team's queue: nobody owns it, an assigned one is open again."""
    if ticket.assignee_id is None:
        return
    audit.record(
        db_session=db_session,
        entity_type="ticket",
        entity_id=str(ticket.id),
        action="unassigned",
        actor=actor,
        detail={"assignee_id": ticket.assignee_id},
    )
    ticket.assignee_id = None
    if ticket.status == TicketStatus.assigned:
        update(db_session=db_session, ticket=ticket, actor=actor, status=TicketStatus.open.value)
    ticket.updated_at = utcnow()


def snooze(*, db_session: Session, ticket: Ticket, actor: str, until: datetime | None) -> None:
    """Pending, waiting on the customer or someone else; with `until`, set aside until then."""
    if ticket.status != TicketStatus.pending:
        update(db_session=db_session, ticket=ticket, actor=actor, status=TicketStatus.pending.value)
    ticket.snoozed_until = until
    if until is not None:
        audit.record(
            db_session=db_session,
            entity_type="ticket",
            entity_id=str(ticket.id),
            action="snoozed",
            actor=actor,
            detail={"until": until.isoformat()},
        )
    ticket.updated_at = utcnow()


def resolve(*, db_session: Session, ticket: Ticket, actor: str) -> str | None:
    """Resolve the ticket and give its conversation back to the bot, in the caller's
    transaction. Returns the conversation handed back: after the commit, call
    `get_hub().handed_back(conversation_id)` so the assistant greets the customer again."""
    update(db_session=db_session, ticket=ticket, actor=actor, status=TicketStatus.resolved.value)
    ticket.snoozed_until = None
    if ticket.conversation_id:
        conversations.set_mode(
            db_session=db_session, conversation_id=ticket.conversation_id, mode="bot", actor=actor
        )
    return ticket.conversation_id


def list_tickets(
    *,
    db_session: Session,
    status: str | None,
    priority: str | None,
    before_id: int | None,
    limit: int,
    conversation_id: str | None = None,
) -> list[Ticket]:
    stmt = select(Ticket).order_by(Ticket.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(Ticket.status == status)
    if priority:
        stmt = stmt.where(Ticket.priority == priority)
    if conversation_id:
        stmt = stmt.where(Ticket.conversation_id == conversation_id)
    if before_id is not None:
        stmt = stmt.where(Ticket.id < before_id)
    return list(db_session.scalars(stmt))


# The tickets-opened metric counts a ticket once its transaction commits: a create that is
# rolled back (a lost race, an idempotent retry) or that adds to an open ticket is not one.
_OPENED = "opsdesk_opened_ticket_priorities"


@event.listens_for(Session, "pending_to_persistent")
def _note_opened_ticket(session: Session, instance: object) -> None:
    if isinstance(instance, Ticket):
        session.info.setdefault(_OPENED, []).append(instance.priority)


@event.listens_for(Session, "after_commit")
def _count_opened_tickets(session: Session) -> None:
    for priority in session.info.pop(_OPENED, ()):
        metrics.ticket_opened(priority)


@event.listens_for(Session, "after_rollback")
def _forget_opened_tickets(session: Session) -> None:
    session.info.pop(_OPENED, None)
