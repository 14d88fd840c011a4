"""What a channel hands the hub and what the hub hands a channel back.

Channels (REST, socket.io, Messenger, Instagram, WhatsApp, Telegram) only translate between
their platform and these two shapes; storage, ordering, modes and routing are the hub's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

# Channels whose customer is not in a live session: a hand-back restarts the assistant there
# without a greeting (on email it would be a mail nobody asked for).
NOT_LIVE_CHANNELS = frozenset({"email"})


@dataclass(frozen=True)
class InboundMessage:
    """One message from a customer, as the channel received it."""

    channel: str  # rest | socketio | messenger | instagram | whatsapp | telegram
    # the channel's own id of the customer or chat (sender, session_id, PSID, chat_id)
    channel_key: str
    text: str  # what the customer wrote, or the payload of the button they chose
    external_id: str | None = None  # the platform's message id: a replay is processed once
    button_title: str | None = None  # the title of the button chosen, when one was
    metadata: dict[str, Any] = field(default_factory=dict)  # e.g. the customer's display name


@dataclass(frozen=True)
class OutboundMessage:
    """One message to a customer, already stored by the hub (delivery state is on it)."""

    conversation_id: str
    channel: str
    channel_key: str
    message_id: int
    author: str  # bot | agent | system
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)  # [{"title", "payload"}]
    image: str | None = None
    agent_name: str | None = None  # the person who wrote it, when author is agent
    mode: str | None = None  # the conversation's mode (bot | human) when it was sent
    in_reply_to: int | None = None  # the customer message it answers (none for a person's)


class ChannelSender(Protocol):
    """Delivers outbound messages on one channel; raises after its own retries are spent."""

    async def deliver(self, message: OutboundMessage) -> None: ...


class CustomerOffline(Exception):
    """Raised by a sender that cannot reach the customer right now (no open socket): the
    message stays pending and is delivered when the customer is back."""


class DeliveryQueued(Exception):
    """Raised by a sender that took the message into its own durable outbox (email): the
    message stays pending, and the channel records `sent` or `failed` when the outbox is
    done with it. Delivering it again is harmless: the outbox takes a message once."""
