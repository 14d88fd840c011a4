"""What the console's queue shows, and private notes. Plain functions over a session; the ops
services own every rule. The conversation view is `api.console.conversation`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from api.console.models import TicketNote
from api.db import utcnow
from api.ops.audit import service as audit
from api.ops.auth.models import Agent
from api.ops.conversations.models import Conversation
from api.ops.customers.models import Customer
from api.ops.tickets.models import Ticket
from api.ops.tickets.service import TicketStatus
from opsdesk_ids import parse_row_id

QUEUE_LIMIT = 100
PRIORITY_RANK = case(
    {"urgent": 0, "high": 1, "normal": 2, "low": 3}, value=Ticket.priority, else_=4
)
OPEN_STATUSES = (TicketStatus.open, TicketStatus.assigned, TicketStatus.pending)


# -- the queue ----------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilters:
    status: str = ""  # "" = every open status; or open, assigned, pending, resolved
    channel: str = ""
    reason: str = ""
    assignee: str = ""  # "" any, "none" unassigned, or an agent id
    mine: bool = False

    def as_query(self) -> dict[str, str]:
        pairs = {
            "status": self.status,
            "channel": self.channel,
            "reason": self.reason,
            "assignee": self.assignee,
            "mine": "1" if self.mine else "",
        }
        return {k: v for k, v in pairs.items() if v}


@dataclass(frozen=True)
class QueueRow:
    ticket: Ticket
    assignee_name: str | None
    customer_name: str | None
    last_message_at: datetime | None
    overdue: bool
    snoozed: bool


@dataclass
class Queue:
    rows: list[QueueRow]
    shown_of: int
    counts: dict[str, int]
    channels: list[str]
    reasons: list[str]
    agents: list[Agent] = field(default_factory=list)


def queue(*, db_session: Session, filters: QueueFilters, agent_id: int) -> Queue:
    """Tickets by priority, then SLA due time; snoozed ones after the rest until they wake."""
    now = utcnow()
    where: list[Any] = []
    if filters.status in {s.value for s in TicketStatus}:
        where.append(Ticket.status == filters.status)
    else:
        where.append(Ticket.status.in_([s.value for s in OPEN_STATUSES]))
    if filters.channel:
        where.append(Ticket.channel == filters.channel)
    if filters.reason:
        where.append(Ticket.reason == filters.reason)
    if filters.mine:
        where.append(Ticket.assignee_id == agent_id)
    elif filters.assignee == "none":
        where.append(Ticket.assignee_id.is_(None))
    elif filters.assignee.isdigit():
        # An agent id; one past the column's range (or a digit like "²") names no agent.
        where.append(Ticket.assignee_id == (parse_row_id(filters.assignee) or 0))
    asleep = case((Ticket.snoozed_until > now, 1), else_=0)
    stmt = (
        select(
            Ticket,
            Agent.name,
            Customer.first_name,
            Customer.last_name,
            Conversation.customer_name,
            Conversation.last_message_at,
        )
        .outerjoin(Agent, Agent.id == Ticket.assignee_id)
        .outerjoin(Conversation, Conversation.id == Ticket.conversation_id)
        .outerjoin(Customer, Customer.email == Ticket.customer_email)
        .where(*where)
        .order_by(asleep, PRIORITY_RANK, Ticket.sla_due_at, Ticket.id)
        .limit(QUEUE_LIMIT)
    )
    rows = [
        QueueRow(
            ticket=t,
            assignee_name=assignee,
            customer_name=f"{first} {last_name}" if first else display_name,
            last_message_at=last,
            overdue=t.status != TicketStatus.resolved
            and t.first_response_at is None
            and t.sla_due_at < now,
            snoozed=bool(t.snoozed_until and t.snoozed_until > now),
        )
        for t, assignee, first, last_name, display_name, last in db_session.execute(stmt).all()
    ]
    total = db_session.scalar(select(func.count(Ticket.id)).where(*where)) or 0
    counts = {s.value: 0 for s in TicketStatus}
    counts.update(
        dict(db_session.execute(select(Ticket.status, func.count()).group_by(Ticket.status)).all())
    )
    channels, reasons = _filter_choices(db_session)
    return Queue(
        rows=rows,
        shown_of=total,
        counts=counts,
        channels=channels,
        reasons=reasons,
        agents=list(db_session.scalars(select(Agent).where(Agent.active).order_by(Agent.name))),
    )


_choices: tuple[float, list[str], list[str]] | None = None
CHOICES_SECONDS = 10.0


def mine_count(*, db_session: Session, agent_id: int) -> int:
    """Unresolved tickets assigned to the agent."""
    return (
        db_session.scalar(
            select(func.count(Ticket.id)).where(
                Ticket.assignee_id == agent_id, Ticket.status != TicketStatus.resolved
            )
        )
        or 0
    )


@dataclass(frozen=True)
class FilterChoices:
    channels: list[str]
    reasons: list[str]
    agents: list[Agent]


def filter_choices(*, db_session: Session) -> FilterChoices:
    channels, reasons = _filter_choices(db_session)
    agents = list(db_session.scalars(select(Agent).where(Agent.active).order_by(Agent.name)))
    return FilterChoices(channels=channels, reasons=reasons, agents=agents)


def _filter_choices(db_session: Session) -> tuple[list[str], list[str]]:
    """The channels and reasons the filters offer: read every few seconds, not per page (they
    change when a new kind of handoff first appears)."""
    global _choices
    now = time.monotonic()
    if _choices is None or now - _choices[0] > CHOICES_SECONDS:
        channels = list(
            db_session.scalars(select(Ticket.channel).distinct().order_by(Ticket.channel))
        )
        reasons = list(db_session.scalars(select(Ticket.reason).distinct().order_by(Ticket.reason)))
        _choices = (now, channels, reasons)
    return _choices[1], _choices[2]


# -- notes --------------------------------------------------------------------------------


def add_note(
    *, db_session: Session, ticket: Ticket, agent_id: int, author_name: str, text: str, actor: str
) -> TicketNote:
    note = TicketNote(
        ticket_id=ticket.id, agent_id=agent_id, author_name=author_name, text=text.strip()
    )
    db_session.add(note)
    ticket.updated_at = utcnow()
    db_session.flush()
    audit.record(
        db_session=db_session,
        entity_type="ticket",
        entity_id=str(ticket.id),
        action="note_added",
        actor=actor,
        detail={"note_id": note.id},
    )
    return note
