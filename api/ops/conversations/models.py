from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, utcnow
from api.ops.common.types import UTCDateTime


class Conversation(Base):
    """One customer conversation on one channel. `id` is the hub's own key (what the assistant
    and the ops API see); `channel_key` is the channel's id of the customer or chat (the REST
    `sender`, the socket.io `session_id`, a Messenger PSID, a Telegram chat id)."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("channel", "channel_key"),)

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), default="web")
    channel_key: Mapped[str | None] = mapped_column(String(200))
    mode: Mapped[str] = mapped_column(String(10), default="bot")  # bot or human
    status: Mapped[str] = mapped_column(String(10), default="open")
    customer_email: Mapped[str | None] = mapped_column(String(254))
    customer_name: Mapped[str | None] = mapped_column(String(120))
    # When the customer last proved who they are in this conversation (an order's email or
    # postal code). On a channel that identifies the person (a Telegram chat, a Messenger
    # PSID, an email address) it lets the assistant recognise them in a later session.
    customer_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when a person hands the conversation back: the assistant starts afresh (greets
    # again) instead of resuming whatever form it was in before the handoff.
    # When the chat customer left (no socket of their session back within the grace), until
    # they come back: kept in the database so that a restart remembers it, and a person's
    # reply then goes by email as before (api/hub/channels/socketio.py).
    customer_left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bot_reset_pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Message(Base):
    """One turn of a transcript. Inbound `state`: received (stored, not yet processed) ->
    answered (the assistant replied) | queued (a person owns the conversation) | unanswered
    (the assistant could not be reached; the customer was told). Outbound `state`: pending
    (stored, not yet delivered) -> sent | failed."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_conversation_id_id", "conversation_id", "id"),
        Index("ix_messages_state", "state"),
        # A platform's redelivery of the same message is stored once.
        UniqueConstraint("conversation_id", "external_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"))
    direction: Mapped[str] = mapped_column(String(10))  # inbound or outbound
    author: Mapped[str] = mapped_column(String(10))  # customer, bot, agent, system
    agent_name: Mapped[str | None] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text, default="")
    # Inbound: {"button_title"} when a button was chosen. Outbound: {"buttons", "image"}.
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(12), default="received", server_default="sent")
    external_id: Mapped[str | None] = mapped_column(String(200))
    # Outbound: the customer message this one answers (none for an agent's reply).
    in_reply_to: Mapped[int | None] = mapped_column()
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivery_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
