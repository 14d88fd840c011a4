"""Routes of /api/v1/conversations: transcripts and agent replies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from api.db import begin_write
from api.deps import DbSession, Staff
from api.ops.common.types import MAX_ROW_ID
from api.ops.conversations import service
from api.ops.conversations.models import Message
from api.ops.tickets.models import Ticket

router = APIRouter(prefix="/conversations", tags=["conversations"])

MAX_MESSAGE_CHARS = 4000


class MessageView(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    direction: str
    author: str
    agent_name: str | None
    text: str
    payload: dict[str, Any] | None
    created_at: datetime


class MessageList(BaseModel):
    items: list[MessageView]
    next_cursor: str | None


class ConversationView(BaseModel):
    id: str
    channel: str
    mode: str
    status: str
    customer_email: str | None
    created_at: datetime
    last_message_at: datetime | None
    message_count: int
    open_ticket_id: int | None


class AgentReply(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"text": "Hi Sam, I've asked the carrier to trace your parcel."}]
        },
    )
    text: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)


@router.get("/{conversation_id}", response_model=ConversationView)
def get_conversation(conversation_id: str, db: DbSession, _who: Staff) -> ConversationView:
    conversation = service.get_or_raise(db_session=db, conversation_id=conversation_id[:120])
    count = db.scalar(
        select(func.count(Message.id)).where(Message.conversation_id == conversation.id)
    )
    open_ticket = db.scalar(
        select(Ticket.id).where(
            Ticket.conversation_id == conversation.id, Ticket.status != "resolved"
        )
    )
    return ConversationView(
        id=conversation.id,
        channel=conversation.channel,
        mode=conversation.mode,
        status=conversation.status,
        customer_email=conversation.customer_email,
        created_at=conversation.created_at,
        last_message_at=conversation.last_message_at,
        message_count=count or 0,
        open_ticket_id=open_ticket,
    )


@router.get("/{conversation_id}/messages", response_model=MessageList)
def list_messages(
    conversation_id: str,
    db: DbSession,
    _who: Staff,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_ROW_ID, description="id of the last message seen")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> MessageList:
    """The transcript, oldest first; pass the last id seen as `after` to get only newer ones."""
    conversation = service.get_or_raise(db_session=db, conversation_id=conversation_id[:120])
    messages = service.messages_after(
        db_session=db, conversation_id=conversation.id, after_id=after, limit=limit + 1
    )
    page: list[Message] = messages[:limit]
    return MessageList(
        items=[MessageView.model_validate(m) for m in page],
        next_cursor=str(page[-1].id) if len(messages) > limit else None,
    )


@router.post("/{conversation_id}/messages", status_code=201, response_model=MessageView)
def post_agent_reply(
    conversation_id: str, body: AgentReply, db: DbSession, who: Staff
) -> MessageView:
    """An agent's reply: stored before it is sent; the conversation is in human mode from now,
    and the open ticket's first response time is set."""
    begin_write(db)
    conversation = service.get_or_raise(db_session=db, conversation_id=conversation_id[:120])
    message = service.add_message(
        db_session=db,
        conversation=conversation,
        direction="outbound",
        author="agent",
        text=body.text,
        agent_name=who.name,
    )
    service.set_mode(db_session=db, conversation_id=conversation.id, mode="human", actor=who.name)
    ticket = db.scalar(
        select(Ticket).where(Ticket.conversation_id == conversation.id, Ticket.status != "resolved")
    )
    if ticket is not None and ticket.first_response_at is None:
        ticket.first_response_at = message.created_at
    db.commit()
    return MessageView.model_validate(message)
