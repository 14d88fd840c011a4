"""Routes of /api/v1/tickets: the human queue."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.db import begin_write, utcnow
from api.deps import DbSession, IdempotencyKey, Staff, StaffOrService, decode_cursor, encode_cursor
from api.hub import get_hub
from api.ops.common.idempotency import run_once
from api.ops.tickets import service
from api.ops.tickets.models import Ticket
from api.ops.tickets.service import Priority, TicketStatus
from opsdesk_ids import MAX_ROW_ID

router = APIRouter(prefix="/tickets", tags=["tickets"])


class CreateTicket(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "conversation_id": "web:3f2a",
                    "channel": "web",
                    "customer_email": "sam.lee@example.com",
                    "order_number": "10002",
                    "reason": "delayed_order",
                    "priority": "high",
                    "summary": "Intent: order_status. Verified order #10002 (delayed). "
                    "Customer asked for a person.",
                }
            ]
        },
    )
    conversation_id: str | None = Field(default=None, max_length=120)
    channel: str = Field(default="web", max_length=20)
    customer_email: str | None = Field(default=None, max_length=254)
    order_number: str | None = Field(default=None, max_length=20)
    reason: str = Field(min_length=1, max_length=40)
    priority: Priority = Priority.normal
    summary: str = Field(default="", max_length=8000)


class UpdateTicket(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: TicketStatus | None = None
    priority: Priority | None = None
    assignee_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)


class TicketView(BaseModel):
    id: int
    conversation_id: str | None
    channel: str
    customer_email: str | None
    order_number: str | None
    reason: str
    priority: str
    status: str
    assignee_id: int | None
    summary: str
    sla_due_at: datetime
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None


class CreatedTicket(TicketView):
    within_business_hours: bool
    customer_message: str


class TicketList(BaseModel):
    items: list[TicketView]
    next_cursor: str | None


def ticket_view(t: Ticket) -> TicketView:
    return TicketView.model_validate(t, from_attributes=True)


@router.post("", status_code=201, response_model=CreatedTicket)
def create_ticket(
    body: CreateTicket, db: DbSession, who: StaffOrService, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Hand a case to a person. The answer says what to tell the customer about the wait."""

    def create() -> tuple[int, dict]:
        ticket = service.create(
            db_session=db,
            conversation_id=body.conversation_id,
            channel=body.channel,
            customer_email=body.customer_email,
            order_number=body.order_number,
            reason=body.reason,
            priority=body.priority.value,
            summary=body.summary,
            actor=who.name,
        )
        now = utcnow()
        view = CreatedTicket(
            **ticket_view(ticket).model_dump(),
            within_business_hours=service.within_business_hours(now),
            customer_message=service.customer_message(
                priority=ticket.priority, now=now, has_email=bool(ticket.customer_email)
            ),
        )
        return 201, view.model_dump(mode="json")

    begin_write(db)
    status, payload = run_once(
        db_session=db,
        principal=who.name,
        key=idempotency_key,
        scope="POST /tickets",
        body=body.model_dump(mode="json"),
        create=create,
    )
    return JSONResponse(payload, status_code=status)


@router.get("", response_model=TicketList)
def list_tickets(
    db: DbSession,
    _who: Staff,
    status: Annotated[TicketStatus | None, Query()] = None,
    priority: Annotated[Priority | None, Query()] = None,
    conversation_id: Annotated[
        str | None, Query(max_length=120, description="the tickets of one conversation")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> TicketList:
    tickets = service.list_tickets(
        db_session=db,
        status=status.value if status else None,
        priority=priority.value if priority else None,
        conversation_id=conversation_id,
        before_id=decode_cursor(cursor),
        limit=limit + 1,
    )
    page = tickets[:limit]
    return TicketList(
        items=[ticket_view(t) for t in page],
        next_cursor=encode_cursor(page[-1].id) if len(tickets) > limit else None,
    )


TicketId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


@router.get("/{ticket_id}", response_model=TicketView)
def get_ticket(ticket_id: TicketId, db: DbSession, _who: Staff) -> TicketView:
    return ticket_view(service.get_or_raise(db_session=db, ticket_id=ticket_id))


@router.patch(
    "/{ticket_id}",
    response_model=TicketView,
    responses={
        409: {
            "description": "Status change not allowed, or another ticket of the conversation "
            "is open"
        },
        422: {"description": "Invalid input, or no active agent has that assignee_id"},
    },
)
def update_ticket(ticket_id: TicketId, body: UpdateTicket, db: DbSession, who: Staff) -> TicketView:
    """Change status, priority or assignee. Resolving hands the conversation back to the bot."""
    begin_write(db)
    ticket = service.get_or_raise(db_session=db, ticket_id=ticket_id)
    service.update(
        db_session=db,
        ticket=ticket,
        actor=who.name,
        status=body.status.value if body.status and body.status != TicketStatus.resolved else None,
        priority=body.priority.value if body.priority else None,
        assignee_id=body.assignee_id,
    )
    handed_back = None
    if body.status == TicketStatus.resolved and ticket.status != TicketStatus.resolved:
        handed_back = service.resolve(db_session=db, ticket=ticket, actor=who.name)
    db.commit()
    if handed_back:
        get_hub().handed_back(handed_back)  # the assistant greets the customer again
    return ticket_view(ticket)
