"""A returning customer is known: on a channel that identifies the person, a proof of
identity given in one session lets the assistant greet them by name and offer their latest
order in a later one, without asking for an email or postal code again.

What counts:
- The channel identifies the person: a Telegram chat, a Messenger or Instagram user, a
  WhatsApp number, an email address. Each has one conversation per channel identity
  (conversations are unique on (channel, channel_key)), so a proof never travels to another
  identity: not to the same customer's WhatsApp, not to a website visitor who types their
  email. The website chat and REST senders do not count: a browser can be shared, and a
  REST sender id is whatever the caller chose.
- The customer proved who they are in this conversation (an order's email or postal code,
  through the same check as every lookup), no longer ago than `known_customer_hours`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db import utcnow
from api.ops.conversations import service as conversations
from api.ops.customers.models import Customer
from api.ops.orders.models import Order
from api.settings import get_settings

# The one list of them: the assistant asks for every session and passes the channel it saw,
# so that a session elsewhere is answered without a database read (see `identifies`).
IDENTIFYING_CHANNELS = frozenset({"telegram", "messenger", "instagram", "whatsapp", "email"})


def identifies(channel: str) -> bool:
    """Whether a conversation on this channel can have a known customer at all."""
    return channel in IDENTIFYING_CHANNELS


@dataclass(frozen=True)
class KnownCustomer:
    first_name: str
    email: str
    verified_at: datetime
    latest_order_number: int | None
    latest_order_status: str | None


def known_customer(*, db_session: Session, conversation_id: str) -> KnownCustomer | None:
    """Who the conversation's customer is, when the rules above allow saying so."""
    conversation = conversations.get(db_session=db_session, conversation_id=conversation_id)
    lifetime = timedelta(hours=get_settings().known_customer_hours)
    if (
        conversation is None
        or not identifies(conversation.channel)
        or not conversation.customer_email
        or conversation.customer_verified_at is None
        or not lifetime
        or utcnow() - conversation.customer_verified_at > lifetime
    ):
        return None
    customer = db_session.scalar(
        select(Customer).where(Customer.email == conversation.customer_email)
    )
    if customer is None:
        return None
    latest = db_session.execute(
        select(Order.number, Order.status)
        .where(Order.customer_id == customer.id)
        .order_by(Order.placed_at.desc(), Order.id.desc())
        .limit(1)
    ).first()
    return KnownCustomer(
        first_name=customer.first_name,
        email=customer.email,
        verified_at=conversation.customer_verified_at,
        latest_order_number=latest[0] if latest else None,
        latest_order_status=latest[1] if latest else None,
    )
