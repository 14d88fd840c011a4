"""What the conversation view shows: its header (the customer, the conversation's mode, the
ticket's status, priority and assignee), the newest turns of the transcript with earlier ones
a page at a time, and the context panel (what the assistant knew, the customer, their orders
with returns, stock of the items discussed, notes, the ticket's history), and the saved
replies filled from that context.

The view reads a fixed amount whatever the conversation's length: one page of turns, the
texts of the newest SKU_SCAN_TURNS turns that could name a SKU, and the context with a fixed
number of statements (the orders in one, their returns with lines in two, the returns'
lifecycles in one)."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import case, select
from sqlalchemy.orm import Session, lazyload, selectinload

from api.console.models import TicketNote
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
from opsdesk_ids import find_skus, parse_order_number

# Turns on the page at first, and per "Earlier messages".
TRANSCRIPT_PAGE = 50
# Turns after a given one that the live view appends at most in one fetch.
TRANSCRIPT_LIMIT = 500
# The newest turns read for SKUs named in the conversation (the stock card).
SKU_SCAN_TURNS = 500
ORDERS_IN_CONTEXT = 5
SKUS_IN_CONTEXT = 12
PLACEHOLDER = re.compile(r"\{(first_name|order_number|tracking_url|rma_number|agent_name)\}")
PRIORITIES = [p.value for p in Priority]


@dataclass
class Head:
    """The top of the view, which open pages refresh live when the ticket changes."""

    conversation: Conversation
    ticket: Ticket | None
    assignee: Agent | None
    customer: Customer | None


@dataclass
class Transcript:
    messages: list[Message]  # oldest first
    earlier: bool  # older turns exist before messages[0]

    @property
    def first_id(self) -> int:
        return self.messages[0].id if self.messages else 0

    @property
    def last_id(self) -> int:
        return self.messages[-1].id if self.messages else 0


@dataclass
class OrderContext:
    document: dict[str, Any]
    returns: list[dict[str, Any]]


@dataclass
class ConversationPage:
    head: Head
    transcript: Transcript
    notes: list[TicketNote]
    orders: list[OrderContext]
    stock: list[dict[str, Any]]
    history: list[AuditEntry]
    agents: list[Agent]

    @property
    def conversation(self) -> Conversation:
        return self.head.conversation

    @property
    def ticket(self) -> Ticket | None:
        return self.head.ticket

    @property
    def customer(self) -> Customer | None:
        return self.head.customer


def ticket_of(*, db_session: Session, conversation_id: str) -> Ticket | None:
    """The conversation's open ticket, else its latest one."""
    return db_session.scalar(
        select(Ticket)
        .where(Ticket.conversation_id == conversation_id)
        .order_by(case((Ticket.status == TicketStatus.resolved, 1), else_=0), Ticket.id.desc())
        .limit(1)
    )


def head_of(*, db_session: Session, conversation: Conversation) -> Head:
    ticket = ticket_of(db_session=db_session, conversation_id=conversation.id)
    email = (ticket.customer_email if ticket else None) or conversation.customer_email
    customer = (
        db_session.scalar(select(Customer).where(Customer.email == email.lower()))
        if email
        else None
    )
    assignee = db_session.get(Agent, ticket.assignee_id) if ticket and ticket.assignee_id else None
    return Head(conversation=conversation, ticket=ticket, assignee=assignee, customer=customer)


def transcript_before(
    *, db_session: Session, conversation_id: str, before_id: int | None = None
) -> Transcript:
    """The TRANSCRIPT_PAGE turns before `before_id` (the newest ones without it), oldest
    first; read through the (conversation_id, id) index, newest first, one row past the page
    to know whether there are earlier ones."""
    stmt = select(Message).where(Message.conversation_id == conversation_id)
    if before_id is not None:
        stmt = stmt.where(Message.id < before_id)
    rows = list(db_session.scalars(stmt.order_by(Message.id.desc()).limit(TRANSCRIPT_PAGE + 1)))
    return Transcript(messages=rows[:TRANSCRIPT_PAGE][::-1], earlier=len(rows) > TRANSCRIPT_PAGE)


def transcript_after(*, db_session: Session, conversation_id: str, after_id: int) -> list[Message]:
    """The turns after `after_id` (at most the newest TRANSCRIPT_LIMIT), oldest first."""
    stmt = (
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.id > after_id)
        .order_by(Message.id.desc())
        .limit(TRANSCRIPT_LIMIT)
    )
    return list(db_session.scalars(stmt))[::-1]


def notes_of(*, db_session: Session, ticket_id: int) -> list[TicketNote]:
    return list(
        db_session.scalars(
            select(TicketNote).where(TicketNote.ticket_id == ticket_id).order_by(TicketNote.id)
        )
    )


def _order_ids(db_session: Session, ticket: Ticket | None, customer: Customer | None) -> list[int]:
    """The ticket's order first, then the customer's latest ones."""
    order_ids: list[int] = []
    number = parse_order_number(ticket.order_number) if ticket else None
    if number is not None:
        first = db_session.scalar(select(Order.id).where(Order.number == number))
        if first is not None:
            order_ids.append(first)
    if customer is not None:
        latest = db_session.scalars(
            select(Order.id)
            .where(Order.customer_id == customer.id)
            .order_by(Order.placed_at.desc())
            .limit(ORDERS_IN_CONTEXT)
        )
        order_ids += [oid for oid in latest if oid not in order_ids]
    return order_ids[:ORDERS_IN_CONTEXT]


def _returns_by_order(db_session: Session, order_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each return of the orders with its lines and lifecycle (from the audit log): the returns
    and their lines in two statements, the lifecycles in one. The return's order is not
    loaded again (the panel has its document)."""
    rmas = list(
        db_session.scalars(
            select(Rma)
            .where(Rma.order_id.in_(order_ids))
            .options(lazyload(Rma.order), selectinload(Rma.lines))
            .order_by(Rma.id)
        )
    )
    steps: dict[str, list[AuditEntry]] = defaultdict(list)
    if rmas:
        for entry in db_session.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.entity_type == "rma",
                AuditEntry.entity_id.in_([r.rma_number for r in rmas]),
            )
            .order_by(AuditEntry.id)
        ):
            steps[entry.entity_id].append(entry)
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for rma in rmas:
        status = RmaStatus(rma.status)
        found[rma.order_id].append(
            {
                "rma": rma,
                "lines": list(rma.lines),
                "steps": steps[rma.rma_number],
                "can_approve": RmaStatus.approved in RMA_TRANSITIONS[status],
                "can_reject": RmaStatus.rejected in RMA_TRANSITIONS[status],
                "can_label": status in (RmaStatus.approved, RmaStatus.label_issued),
                "label_url": label_url(rma.rma_number, rma.label_number)
                if rma.label_number and status == RmaStatus.label_issued
                else None,
            }
        )
    return found


def conversation_page(
    *, db_session: Session, conversation: Conversation, before_id: int | None = None
) -> ConversationPage:
    head = head_of(db_session=db_session, conversation=conversation)
    ticket = head.ticket
    transcript = transcript_before(
        db_session=db_session, conversation_id=conversation.id, before_id=before_id
    )
    order_ids = _order_ids(db_session, ticket, head.customer)
    documents = order_presenter.read_by_ids(db_session, order_ids)
    returns = _returns_by_order(db_session, list(documents)) if documents else {}
    orders = [
        OrderContext(
            document=order_presenter.document(documents[oid], full=True),
            returns=returns.get(oid, []),
        )
        for oid in order_ids
        if oid in documents
    ]
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
        head=head,
        transcript=transcript,
        notes=notes_of(db_session=db_session, ticket_id=ticket.id) if ticket else [],
        orders=orders,
        stock=stock_of_items_discussed(db_session, conversation.id, orders),
        history=history,
        agents=list(db_session.scalars(select(Agent).where(Agent.active).order_by(Agent.name))),
    )


def skus_named(db_session: Session, conversation_id: str) -> list[str]:
    """SKUs named in the newest SKU_SCAN_TURNS turns, in the order first named: those turns
    are read newest first through the (conversation_id, id) index, and only the texts that
    could hold a SKU (it has a hyphen) come back."""
    newest = (
        select(Message.id, Message.text)
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.id.desc())
        .limit(SKU_SCAN_TURNS)
        .subquery()
    )
    texts = db_session.scalars(
        select(newest.c.text).where(newest.c.text.contains("-")).order_by(newest.c.id)
    ).all()
    skus: list[str] = []
    for text in texts:
        for sku in find_skus(text):
            if sku not in skus:
                skus.append(sku)
    return skus


def stock_of_items_discussed(
    db_session: Session, conversation_id: str, orders: list[OrderContext]
) -> list[dict[str, Any]]:
    """Stock of the SKUs named in the conversation and of the first order's lines."""
    skus = skus_named(db_session, conversation_id)
    if orders:
        for line in orders[0].document["lines"]:
            if line["sku"] not in skus:
                skus.append(line["sku"])
    levels = inventory.get_levels(db_session=db_session, skus=skus[:SKUS_IN_CONTEXT])
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
