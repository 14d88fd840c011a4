"""The widget's transcript after a reload or a reconnect: the conversation whose socket.io
`session_id` the browser kept, read through the conversations service.

Whoever holds a session id can already join that conversation over socket.io, so answering
by session id opens nothing the id does not."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.ops.conversations import service as conversations
from api.ops.conversations.models import Message

CHANNEL = "socketio"
MAX_MESSAGES = 200
MAX_SESSION_ID_CHARS = 200


def _widget_message(message: Message) -> dict[str, Any] | None:
    """One transcript row as the widget paints it; None for what the customer never saw."""
    payload = message.payload or {}
    if message.direction == "inbound":
        title = payload.get("button_title")
        text = title or message.text
        # A command sent without a title (the widget's opening "/greet") was never typed.
        if not title and text.startswith("/"):
            return None
        return {"id": message.id, "author": "customer", "text": text}
    return {
        "id": message.id,
        "author": message.author,
        "agent_name": message.agent_name,
        "text": message.text,
        "buttons": [
            {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
            for b in payload.get("buttons") or []
            if isinstance(b, dict)
        ],
        "image": payload.get("image"),
    }


def for_session(
    *, db_session: Session, session_id: str, after_id: int | None = None
) -> dict[str, Any]:
    """`{session_id, mode, messages}`: the newest MAX_MESSAGES turns (after `after_id` when
    given), oldest first; an unknown session has no messages and the bot's mode."""
    empty = {"session_id": session_id, "mode": "bot", "messages": []}
    if not session_id or len(session_id) > MAX_SESSION_ID_CHARS:
        return empty
    conversation = conversations.get_by_channel_key(
        db_session=db_session, channel=CHANNEL, channel_key=session_id
    )
    if conversation is None:
        return empty
    stmt = select(Message).where(Message.conversation_id == conversation.id)
    if after_id is not None:
        stmt = stmt.where(Message.id > after_id)
    newest = list(db_session.scalars(stmt.order_by(Message.id.desc()).limit(MAX_MESSAGES)))
    painted = [m for m in (_widget_message(row) for row in reversed(newest)) if m is not None]
    return {"session_id": session_id, "mode": conversation.mode, "messages": painted}
