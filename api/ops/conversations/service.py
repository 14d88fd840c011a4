"""Conversations and their transcripts."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.db import utcnow
from api.errors import ApiError
from api.ops.audit import service as audit
from api.ops.conversations.models import Conversation, Message


def get(*, db_session: Session, conversation_id: str) -> Conversation | None:
    return db_session.get(Conversation, conversation_id)


def get_or_raise(*, db_session: Session, conversation_id: str) -> Conversation:
    conversation = get(db_session=db_session, conversation_id=conversation_id)
    if conversation is None:
        raise ApiError(404, "conversation_not_found", "Conversation not found")
    return conversation


def new_id() -> str:
    """A conversation id nobody can guess or choose: the assistant and the ops API key their
    limits (failed order verifications) on it, so a client can't buy fresh ones."""
    return "c-" + secrets.token_urlsafe(16)


def get_by_channel_key(
    *, db_session: Session, channel: str, channel_key: str
) -> Conversation | None:
    return db_session.scalar(
        select(Conversation).where(
            Conversation.channel == channel, Conversation.channel_key == channel_key
        )
    )


def get_or_create_by_channel_key(
    *, db_session: Session, channel: str, channel_key: str, customer_name: str | None = None
) -> Conversation:
    """The conversation of a channel's customer or chat, started on their first message."""
    conversation = get_by_channel_key(
        db_session=db_session, channel=channel, channel_key=channel_key
    )
    if conversation is None:
        conversation = Conversation(
            id=new_id(), channel=channel, channel_key=channel_key, customer_name=customer_name
        )
        db_session.add(conversation)
        db_session.flush()
    elif customer_name and not conversation.customer_name:
        conversation.customer_name = customer_name
    return conversation


def get_by_external_id(
    *, db_session: Session, conversation_id: str, external_id: str
) -> Message | None:
    return db_session.scalar(
        select(Message).where(
            Message.conversation_id == conversation_id, Message.external_id == external_id
        )
    )


def next_received(*, db_session: Session, conversation_id: str) -> Message | None:
    """The oldest customer message not processed yet."""
    return db_session.scalar(
        select(Message)
        .where(
            Message.conversation_id == conversation_id,
            Message.direction == "inbound",
            Message.state == "received",
        )
        .order_by(Message.id)
        .limit(1)
    )


def pending_outbound(*, db_session: Session, conversation_id: str) -> list[Message]:
    """Messages to the customer stored but not delivered yet, oldest first."""
    return list(
        db_session.scalars(
            select(Message)
            .where(
                Message.conversation_id == conversation_id,
                Message.direction == "outbound",
                Message.state == "pending",
            )
            .order_by(Message.id)
        )
    )


def with_received_messages(*, db_session: Session) -> list[str]:
    """Conversations holding customer messages stored but not processed (after a restart)."""
    return list(
        db_session.scalars(
            select(Message.conversation_id)
            .where(Message.state == "received", Message.direction == "inbound")
            .distinct()
        )
    )


def list_conversations(
    *,
    db_session: Session,
    mode: str | None,
    channel: str | None,
    status: str | None,
    before: tuple[datetime, str] | None,
    limit: int,
) -> list[Conversation]:
    """Newest first (by creation), then by id; `before` is the last (created_at, id) seen."""
    stmt = (
        select(Conversation)
        .order_by(Conversation.created_at.desc(), Conversation.id.desc())
        .limit(limit)
    )
    if mode:
        stmt = stmt.where(Conversation.mode == mode)
    if channel:
        stmt = stmt.where(Conversation.channel == channel)
    if status:
        stmt = stmt.where(Conversation.status == status)
    if before is not None:
        created_at, conversation_id = before
        stmt = stmt.where(
            (Conversation.created_at < created_at)
            | ((Conversation.created_at == created_at) & (Conversation.id < conversation_id))
        )
    return list(db_session.scalars(stmt))


def note_customer_left(*, db_session: Session, conversation_id: str, left: bool) -> None:
    """The chat customer left (no socket back within the grace) or came back. The caller
    commits."""
    stmt = update(Conversation).where(Conversation.id == conversation_id)
    if left:
        stmt = stmt.where(Conversation.customer_left_at.is_(None)).values(customer_left_at=utcnow())
    else:
        stmt = stmt.where(Conversation.customer_left_at.is_not(None)).values(customer_left_at=None)
    db_session.execute(stmt)


def customer_has_left(*, db_session: Session, conversation_id: str) -> bool:
    return (
        db_session.scalar(
            select(Conversation.customer_left_at).where(Conversation.id == conversation_id)
        )
        is not None
    )


def waiting_for_the_customer(*, db_session: Session, channel: str) -> list[tuple[str, str]]:
    """(conversation id, channel key) of the channel's conversations holding a person's reply
    not delivered yet."""
    rows = db_session.execute(
        select(Conversation.id, Conversation.channel_key)
        .join(Message, Message.conversation_id == Conversation.id)
        .where(
            Message.state == "pending",
            Message.direction == "outbound",
            Message.author == "agent",
            Conversation.channel == channel,
        )
        .distinct()
    ).all()
    return [(cid, key) for cid, key in rows if key]


def note_customer(*, db_session: Session, conversation_id: str, email: str) -> None:
    """The customer of the conversation proved who they are (an order verified)."""
    conversation = get(db_session=db_session, conversation_id=conversation_id)
    if conversation is not None:
        conversation.customer_email = email
        conversation.customer_verified_at = utcnow()


def set_mode(
    *, db_session: Session, conversation_id: str, mode: str, actor: str = "system"
) -> None:
    """Hand a conversation to a person (`human`) or back to the bot (`bot`). Back with the bot,
    the assistant starts afresh on its next turn instead of resuming a form left open."""
    conversation = get(db_session=db_session, conversation_id=conversation_id)
    if conversation is not None and conversation.mode != mode:
        if mode == "bot":
            conversation.bot_reset_pending = True
        audit.record(
            db_session=db_session,
            entity_type="conversation",
            entity_id=conversation_id,
            action="mode_changed",
            actor=actor,
            from_state=conversation.mode,
            to_state=mode,
        )
        conversation.mode = mode


def add_message(
    *,
    db_session: Session,
    conversation: Conversation,
    direction: str,
    author: str,
    text: str,
    payload: dict[str, Any] | None = None,
    agent_name: str | None = None,
    state: str | None = None,
    external_id: str | None = None,
    in_reply_to: int | None = None,
) -> Message:
    """Append to the transcript: inbound messages start `received`, outbound ones `pending`."""
    now = utcnow()
    message = Message(
        conversation_id=conversation.id,
        direction=direction,
        author=author,
        text=text,
        payload=payload,
        agent_name=agent_name,
        state=state or ("received" if direction == "inbound" else "pending"),
        external_id=external_id,
        in_reply_to=in_reply_to,
        created_at=now,
    )
    db_session.add(message)
    conversation.last_message_at = now
    db_session.flush()
    return message


def messages_after(
    *, db_session: Session, conversation_id: str, after_id: int | None, limit: int
) -> list[Message]:
    stmt = (
        select(Message)
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.id)
        .limit(limit)
    )
    if after_id is not None:
        stmt = stmt.where(Message.id > after_id)
    return list(db_session.scalars(stmt))
