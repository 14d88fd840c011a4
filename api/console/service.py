"""What the console's pages show: the queue, a conversation with its context, notes and
canned responses. Plain functions over a session; the ops services own every rule."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from api.console.models import TicketNote
from api.db import utcnow
from api.ops.audit import service as audit
from api.ops.audit.models import AuditEntry
from api.ops.auth.models import Agent
from api.ops.conversations.models import Conversation, Message
from api.ops.customers.models import Customer
from api.ops.inventory import service as inventory
from api.ops.orders import presenter as order_presenter
from api.ops.orders.models import Order
from api.ops.returns.enums import RMA_TRANSITIONS, RmaStatus
from api.ops.returns.labels import label_url
from api.ops.returns.models import Rma
from api.ops.tickets.models import Ticket
from api.ops.tickets.service import Priority, TicketStatus
from api.settings import get_settings
from opsdesk_ids import find_skus, parse_order_number, parse_row_id

QUEUE_LIMIT = 100
TRANSCRIPT_LIMIT = 500
ORDERS_IN_CONTEXT = 5
PRIORITY_RANK = case(
    {"urgent": 0, "high": 1, "normal": 2, "low": 3}, value=Ticket.priority, else_=4
)
OPEN_STATUSES = (TicketStatus.open, TicketStatus.assigned, TicketStatus.pending)
PLACEHOLDER = re.compile(r"\{(first_name|order_number|tracking_url|rma_number|agent_name)\}")


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


# -- a conversation -----------------------------------------------------------------------


@dataclass
class OrderContext:
    document: dict[str, Any]
    returns: list[dict[str, Any]]


@dataclass
class ConversationPage:
    conversation: Conversation
    ticket: Ticket | None
    assignee: Agent | None
    messages: list[Message]
    notes: list[TicketNote]
    customer: Customer | None
    orders: list[OrderContext]
    stock: list[dict[str, Any]]
    history: list[AuditEntry]
    agents: list[Agent]


def ticket_of(*, db_session: Session, conversation_id: str) -> Ticket | None:
    """The conversation's open ticket, else its latest one."""
    return db_session.scalar(
        select(Ticket)
        .where(Ticket.conversation_id == conversation_id)
        .order_by(case((Ticket.status == TicketStatus.resolved, 1), else_=0), Ticket.id.desc())
        .limit(1)
    )


def transcript(
    *, db_session: Session, conversation_id: str, after_id: int | None = None
) -> list[Message]:
    """The newest TRANSCRIPT_LIMIT turns (after `after_id`), oldest first."""
    stmt = select(Message).where(Message.conversation_id == conversation_id)
    if after_id is not None:
        stmt = stmt.where(Message.id > after_id)
    newest = list(db_session.scalars(stmt.order_by(Message.id.desc()).limit(TRANSCRIPT_LIMIT)))
    return newest[::-1]


def notes_of(*, db_session: Session, ticket_id: int) -> list[TicketNote]:
    return list(
        db_session.scalars(
            select(TicketNote).where(TicketNote.ticket_id == ticket_id).order_by(TicketNote.id)
        )
    )


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


def _returns_of(db_session: Session, order_id: int) -> list[dict[str, Any]]:
    """Each return of the order with its lines and lifecycle (from the audit log)."""
    found = []
    for rma in db_session.scalars(select(Rma).where(Rma.order_id == order_id).order_by(Rma.id)):
        steps = db_session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity_type == "rma", AuditEntry.entity_id == rma.rma_number)
            .order_by(AuditEntry.id)
        )
        status = RmaStatus(rma.status)
        found.append(
            {
                "rma": rma,
                "lines": list(rma.lines),
                "steps": list(steps),
                "can_approve": RmaStatus.approved in RMA_TRANSITIONS[status],
                "can_reject": RmaStatus.rejected in RMA_TRANSITIONS[status],
                "can_label": status in (RmaStatus.approved, RmaStatus.label_issued),
                "label_url": label_url(rma.rma_number, rma.label_number)
                if rma.label_number and status == RmaStatus.label_issued
                else None,
            }
        )
    return found


def conversation_page(*, db_session: Session, conversation: Conversation) -> ConversationPage:
    ticket = ticket_of(db_session=db_session, conversation_id=conversation.id)
    messages = transcript(db_session=db_session, conversation_id=conversation.id)
    email = (ticket.customer_email if ticket else None) or conversation.customer_email
    customer = (
        db_session.scalar(select(Customer).where(Customer.email == email.lower()))
        if email
        else None
    )
    order_ids: list[int] = []
    number = parse_order_number(ticket.order_number) if ticket else None
    if number is not None:
        first = db_session.scalar(select(Order.id).where(Order.number == number))
        if first is not None:
            order_ids.append(first)
    if customer is not None:
        order_ids += [
            oid
            for oid in db_session.scalars(
                select(Order.id)
                .where(Order.customer_id == customer.id)
                .order_by(Order.placed_at.desc())
                .limit(ORDERS_IN_CONTEXT)
            )
            if oid not in order_ids
        ]
    orders = []
    for order_id in order_ids[:ORDERS_IN_CONTEXT]:
        data = order_presenter.read_by_id(db_session, order_id)
        if data is not None:
            orders.append(
                OrderContext(
                    document=order_presenter.document(data, full=True),
                    returns=_returns_of(db_session, order_id),
                )
            )
    history = (
        list(
            db_session.scalars(
                select(AuditEntry)
                .where(AuditEntry.entity_type == "ticket", AuditEntry.entity_id == str(ticket.id))
                .order_by(AuditEntry.id)
            )
        )
        if ticket
        else []
    )
    return ConversationPage(
        conversation=conversation,
        ticket=ticket,
        assignee=db_session.get(Agent, ticket.assignee_id)
        if ticket and ticket.assignee_id
        else None,
        messages=messages,
        notes=notes_of(db_session=db_session, ticket_id=ticket.id) if ticket else [],
        customer=customer,
        orders=orders,
        stock=stock_of_items_discussed(db_session, messages, orders),
        history=history,
        agents=list(db_session.scalars(select(Agent).where(Agent.active).order_by(Agent.name))),
    )


def stock_of_items_discussed(
    db_session: Session, messages: list[Message], orders: list[OrderContext]
) -> list[dict[str, Any]]:
    """Stock of the SKUs named in the conversation and of the first order's lines."""
    skus: list[str] = []
    for message in messages:
        for sku in find_skus(message.text):
            if sku not in skus:
                skus.append(sku)
    if orders:
        for line in orders[0].document["lines"]:
            if line["sku"] not in skus:
                skus.append(line["sku"])
    levels = inventory.get_levels(db_session=db_session, skus=skus[:12])
    by_sku: dict[str, dict[str, Any]] = {}
    for level in levels:
        row = by_sku.setdefault(
            level.sku, {"sku": level.sku, "available": 0, "on_hand": 0, "restock": None}
        )
        row["available"] += level.available
        row["on_hand"] += level.on_hand
        if level.next_restock_date and (
            row["restock"] is None or level.next_restock_date < row["restock"]
        ):
            row["restock"] = level.next_restock_date
    return [by_sku[s] for s in skus if s in by_sku]


# -- canned responses ---------------------------------------------------------------------


@dataclass(frozen=True)
class Canned:
    key: str
    title: str
    text: str  # with the placeholders filled where the context knows them


@lru_cache
def _canned_source(path: Path) -> list[dict[str, str]]:
    return list(yaml.safe_load(path.read_text())["responses"])


def canned_responses(page: ConversationPage, agent_first_name: str) -> list[Canned]:
    """The team's saved replies with {first_name}, {order_number}, {tracking_url},
    {rma_number} and {agent_name} filled from the conversation's context; a placeholder the
    context cannot fill stays visible so the agent completes it before sending."""
    values: dict[str, str] = {"agent_name": agent_first_name}
    if page.customer is not None:
        values["first_name"] = page.customer.first_name
    elif page.conversation.customer_name:
        values["first_name"] = page.conversation.customer_name.split()[0]
    if page.orders:
        order = page.orders[0].document
        values["order_number"] = order["order_number"]
        shipments = order.get("shipments") or []
        if shipments:
            values["tracking_url"] = shipments[-1]["tracking_url"]
        if page.orders[0].returns:
            values["rma_number"] = page.orders[0].returns[-1]["rma"].rma_number
    source = _canned_source(get_settings().store_dir / "canned_responses.yml")
    return [
        Canned(
            key=item["key"],
            title=item["title"],
            text=PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), item["text"]),
        )
        for item in source
    ]


PRIORITIES = [p.value for p in Priority]
