"""Conversations and their transcripts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
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


def get_or_create(*, db_session: Session, conversation_id: str, channel: str) -> Conversation:
    conversation = get(db_session=db_session, conversation_id=conversation_id)
    if conversation is None:
        conversation = Conversation(id=conversation_id, channel=channel)
        db_session.add(conversation)
        db_session.flush()
    return conversation


def set_mode(
    *, db_session: Session, conversation_id: str, mode: str, actor: str = "system"
) -> None:
    """Hand a conversation to a person (`human`) or back to the bot (`bot`)."""
    conversation = get(db_session=db_session, conversation_id=conversation_id)
    if conversation is not None and conversation.mode != mode:
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
) -> Message:
    now = utcnow()
    message = Message(
        conversation_id=conversation.id,
        direction=direction,
        author=author,
        text=text,
        payload=payload,
        agent_name=agent_name,
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
