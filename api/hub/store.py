"""The hub's database work: each function is one transaction, run in the hub's thread pool.

The order of work lives here: a conversation's next turn is its oldest customer message
still `received`, its deliveries are its outbound messages still `pending`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from api.db import begin_write, session_scope, utcnow
from api.hub.messages import InboundMessage, OutboundMessage
from api.hub.rasa import BotReply
from api.ops.conversations import service as conversations
from api.ops.conversations.models import Conversation, Message
from api.ops.tickets import service as tickets

MAX_TEXT_CHARS = 4000


@dataclass(frozen=True)
class Stored:
    """Where `receive` put a customer message."""

    conversation_id: str
    message_id: int
    replayed: bool  # the same (channel, external_id) was stored before; nothing new stored


@dataclass(frozen=True)
class Turn:
    """The next piece of work of one conversation, read in one transaction."""

    conversation_id: str
    channel: str
    mode: str
    reset_pending: bool
    message_id: int | None
    text: str


def _store_inbound(message: InboundMessage) -> Stored:
    for attempt in (1, 2):
        try:
            with session_scope() as db:
                begin_write(db)
                conversation = conversations.get_or_create_by_channel_key(
                    db_session=db,
                    channel=message.channel,
                    channel_key=message.channel_key[:200],
                    customer_name=_display_name(message.metadata),
                )
                if message.external_id:
                    earlier = conversations.get_by_external_id(
                        db_session=db,
                        conversation_id=conversation.id,
                        external_id=message.external_id[:200],
                    )
                    if earlier is not None:
                        return Stored(conversation.id, earlier.id, replayed=True)
                stored = conversations.add_message(
                    db_session=db,
                    conversation=conversation,
                    direction="inbound",
                    author="customer",
                    text=message.text[:MAX_TEXT_CHARS],
                    payload={"button_title": message.button_title}
                    if message.button_title
                    else None,
                    external_id=message.external_id[:200] if message.external_id else None,
                )
                return Stored(conversation.id, stored.id, replayed=False)
        except IntegrityError:
            # Another process stored the same conversation or replay at the same moment.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _display_name(metadata: dict[str, Any]) -> str | None:
    name = metadata.get("customer_name") or metadata.get("name")
    return str(name)[:120] if name else None


def _next_turn(conversation_id: str) -> Turn | None:
    with session_scope() as db:
        conversation = conversations.get(db_session=db, conversation_id=conversation_id)
        if conversation is None:
            return None
        message = conversations.next_received(db_session=db, conversation_id=conversation_id)
        return Turn(
            conversation_id=conversation.id,
            channel=conversation.channel,
            mode=conversation.mode,
            reset_pending=conversation.bot_reset_pending,
            message_id=message.id if message else None,
            text=message.text if message else "",
        )


def _set_inbound_state(message_id: int, state: str) -> None:
    with session_scope() as db:
        begin_write(db)
        message = db.get(Message, message_id)
        if message is not None:
            message.state = state


def _reset_done(conversation_id: str) -> None:
    with session_scope() as db:
        begin_write(db)
        conversation = db.get(Conversation, conversation_id)
        if conversation is not None:
            conversation.bot_reset_pending = False


def _add_replies(
    db: Any,
    conversation: Conversation,
    replies: list[BotReply],
    author: str,
    in_reply_to: int | None,
) -> None:
    for reply in replies:
        payload: dict[str, Any] = {}
        if reply.buttons:
            payload["buttons"] = reply.buttons
        if reply.image:
            payload["image"] = reply.image
        if reply.custom:
            payload["custom"] = reply.custom
        conversations.add_message(
            db_session=db,
            conversation=conversation,
            direction="outbound",
            author=author,
            text=reply.text[:MAX_TEXT_CHARS],
            payload=payload or None,
            in_reply_to=in_reply_to,
        )


def _answer_with(
    turn: Turn, replies: list[BotReply], state: str, author: str, extra: list[BotReply]
) -> None:
    """Mark the customer's message processed and store the answers to it, in one commit."""
    assert turn.message_id is not None
    with session_scope() as db:
        begin_write(db)
        conversation = db.get(Conversation, turn.conversation_id)
        message = db.get(Message, turn.message_id)
        if conversation is None or message is None:
            return
        message.state = state
        _add_replies(db, conversation, replies, "bot", turn.message_id)
        _add_replies(db, conversation, extra, author, turn.message_id)


def _store_outbound(
    conversation_id: str, replies: list[BotReply], author: str, in_reply_to: int | None
) -> None:
    with session_scope() as db:
        begin_write(db)
        conversation = db.get(Conversation, conversation_id)
        if conversation is not None:
            _add_replies(db, conversation, replies, author, in_reply_to)


def _handoff_without_assistant(turn: Turn) -> None:
    """The customer asked for a person while the assistant is down: open the ticket here."""
    assert turn.message_id is not None
    with session_scope() as db:
        begin_write(db)
        conversation = db.get(Conversation, turn.conversation_id)
        message = db.get(Message, turn.message_id)
        if conversation is None or message is None:
            return
        message.state = "answered"
        ticket = tickets.create(
            db_session=db,
            conversation_id=conversation.id,
            channel=conversation.channel,
            customer_email=conversation.customer_email,
            order_number=None,
            reason="system_unavailable",
            priority="normal",
            summary="The assistant was unreachable; the customer asked for a person.",
            actor="hub",
        )
        text = tickets.customer_message(
            priority=ticket.priority, now=utcnow(), has_email=bool(ticket.customer_email)
        )
        _add_replies(db, conversation, [BotReply(text=text)], "system", turn.message_id)


def _pending_for_delivery(conversation_id: str) -> tuple[str, list[OutboundMessage]]:
    with session_scope() as db:
        conversation = db.get(Conversation, conversation_id)
        if conversation is None:
            return "", []
        pending = conversations.pending_outbound(db_session=db, conversation_id=conversation_id)
        return conversation.channel, [outbound_of(conversation, m) for m in pending]


def outbound_of(conversation: Conversation, message: Message) -> OutboundMessage:
    payload = message.payload or {}
    return OutboundMessage(
        conversation_id=conversation.id,
        channel=conversation.channel,
        channel_key=conversation.channel_key or "",
        message_id=message.id,
        author=message.author,
        text=message.text,
        buttons=list(payload.get("buttons") or []),
        image=payload.get("image"),
        agent_name=message.agent_name,
        mode=conversation.mode,
        in_reply_to=message.in_reply_to,
    )


def _mark_deliveries(outcomes: list[tuple[int, str, str | None]]) -> None:
    """(message id, sent | failed, error) of one delivery run."""
    with session_scope() as db:
        begin_write(db)
        now = utcnow()
        for message_id, state, error in outcomes:
            message = db.get(Message, message_id)
            if message is not None:
                message.state = state
                message.delivery_error = error
                if state == "sent":
                    message.delivered_at = now


def _take_pending(conversation_id: str, message_id: int) -> list[Message]:
    """The replies to `message_id` and to earlier messages (ready after their own request
    gave up waiting), and the pending messages that answer no message in particular (a
    person's, the greeting after a handback), marked sent: the caller hands them over in its
    answer. Replies to later messages wait for those messages' own answers."""
    with session_scope() as db:
        begin_write(db)
        pending = [
            m
            for m in conversations.pending_outbound(db_session=db, conversation_id=conversation_id)
            if m.in_reply_to is None or m.in_reply_to <= message_id
        ]
        now = utcnow()
        for message in pending:
            message.state = "sent"
            message.delivered_at = now
        return pending


def _unprocessed_conversations() -> list[str]:
    with session_scope() as db:
        return conversations.with_received_messages(db_session=db)
