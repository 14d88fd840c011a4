"""Routes of /api/v1/conversations: the list, transcripts and agent replies."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from api.db import begin_write
from api.deps import DbSession, Service, Staff
from api.errors import ApiError
from api.hub import get_hub
from api.ops.conversations import flows, service
from api.ops.conversations.models import Conversation, Message
from api.ops.customers.known import identifies, known_customer
from api.ops.tickets.models import Ticket
from opsdesk_ids import MAX_ROW_ID

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
    state: str = Field(
        description="inbound: received, answered, queued (for a person) or unanswered; "
        "outbound: pending, sent or failed"
    )
    in_reply_to: int | None
    delivered_at: datetime | None
    delivery_error: str | None = Field(
        default=None, description="outbound, failed: why (the platform's or the mail relay's word)"
    )
    created_at: datetime


class MessageList(BaseModel):
    items: list[MessageView]
    next_cursor: str | None


class ConversationSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    channel: str
    channel_key: str | None = Field(
        description="the channel's own key: REST sender, socket.io session_id, PSID, chat id"
    )
    mode: str
    status: str
    customer_email: str | None
    customer_name: str | None
    created_at: datetime
    last_message_at: datetime | None


class ConversationList(BaseModel):
    items: list[ConversationSummary]
    next_cursor: str | None


class ConversationView(ConversationSummary):
    message_count: int
    open_ticket_id: int | None


class KnownCustomerView(BaseModel):
    first_name: str
    email: str
    verified_at: datetime = Field(description="when the customer last proved who they are")
    latest_order_number: str | None
    latest_order_status: str | None


class ModeChange(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"mode": "bot"}]})
    mode: str = Field(pattern="^(bot|human)$")


class AgentReply(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"text": "Hi Sam, I've asked the carrier to trace your parcel."}]
        },
    )
    text: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)


def _encode_cursor(conversation: Conversation) -> str:
    raw = f"{conversation.created_at.isoformat()}|{conversation.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created_at, _, conversation_id = raw.partition("|")
        moment = datetime.fromisoformat(created_at)
        if not conversation_id or moment.tzinfo is None:
            raise ValueError
        return moment, conversation_id
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_cursor", "The cursor is not one this API gave out") from exc


@router.get("", response_model=ConversationList)
def list_conversations(
    db: DbSession,
    _who: Staff,
    mode: Annotated[str | None, Query(pattern="^(bot|human)$")] = None,
    channel: Annotated[str | None, Query(max_length=20)] = None,
    status: Annotated[str | None, Query(max_length=10)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
) -> ConversationList:
    """Conversations, newest first; `mode=human` is what people own now."""
    found = service.list_conversations(
        db_session=db,
        mode=mode,
        channel=channel,
        status=status,
        before=_decode_cursor(cursor),
        limit=limit + 1,
    )
    page = found[:limit]
    return ConversationList(
        items=[ConversationSummary.model_validate(c) for c in page],
        next_cursor=_encode_cursor(page[-1]) if len(found) > limit else None,
    )


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
        **ConversationSummary.model_validate(conversation).model_dump(),
        message_count=count or 0,
        open_ticket_id=open_ticket,
    )


@router.get("/{conversation_id}/known-customer", response_model=KnownCustomerView)
def get_known_customer(
    conversation_id: str,
    db: DbSession,
    _who: Service,
    channel: Annotated[
        str | None,
        Query(
            max_length=40,
            description="the channel of the message that started the session (its metadata); "
            "one that does not identify the person is answered 404 at once",
        ),
    ] = None,
) -> KnownCustomerView:
    """The returning customer of a conversation on a channel that identifies the person
    (Telegram, Messenger, Instagram, WhatsApp, email) who proved who they are there within
    `OPSDESK_KNOWN_CUSTOMER_HOURS`, with their latest order. 404 `customer_not_known`
    otherwise, the same for an unknown conversation, another channel or an old proof."""
    known = (
        None
        if channel is not None and not identifies(channel)
        else known_customer(db_session=db, conversation_id=conversation_id[:120])
    )
    if known is None:
        raise ApiError(404, "customer_not_known", "The customer of this conversation is not known")
    return KnownCustomerView(
        first_name=known.first_name,
        email=known.email,
        verified_at=known.verified_at,
        latest_order_number=(
            str(known.latest_order_number) if known.latest_order_number is not None else None
        ),
        latest_order_status=known.latest_order_status,
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
    """An agent's reply: stored (`pending`) and committed, then delivered on the customer's
    channel (live on socket.io and the social channels; with the answer to the customer's
    next message on REST). The conversation is in human mode from now, and the open
    ticket's first response time is set."""
    begin_write(db)
    message = flows.agent_reply(
        db_session=db,
        conversation_id=conversation_id[:120],
        text=body.text,
        agent_name=who.name,
        actor=who.name,
    )
    db.commit()
    get_hub().deliver_soon(message.conversation_id)
    return MessageView.model_validate(message)


@router.patch("/{conversation_id}", response_model=ConversationView)
def change_mode(
    conversation_id: str, body: ModeChange, db: DbSession, who: Staff
) -> ConversationView:
    """Take a conversation (`human`: the assistant falls silent) or give it back (`bot`: the
    assistant starts afresh and greets the customer), with or without a ticket. Resolving the
    conversation's ticket gives it back too."""
    begin_write(db)
    conversation = service.get_or_raise(db_session=db, conversation_id=conversation_id[:120])
    handed_back = conversation.mode == "human" and body.mode == "bot"
    service.set_mode(db_session=db, conversation_id=conversation.id, mode=body.mode, actor=who.name)
    db.commit()
    if handed_back:
        get_hub().handed_back(conversation.id)
    return get_conversation(conversation.id, db, who)
