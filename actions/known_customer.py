"""A returning customer is known: at the start of each session, on a channel that identifies
the person (Telegram, Messenger, Instagram, WhatsApp, email), the API says whether this
conversation's customer proved who they are within the store's set lifetime. If so, the
session starts with their order verified: the greeting names them and offers their latest
order, and "where is my order?" is answered without asking for an email again.

The API owns the rule (api/ops/customers/known.py), which channels identify a person
included; this action asks it at every session start. A failure to ask (the API down)
starts the session as for anyone else."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet

from actions.api_client import ApiError, get_client

logger = logging.getLogger(__name__)


def known_customer_slots(known: dict[str, Any]) -> list[EventType]:
    """The slots a session starts with for a known customer: their latest order verified
    with the email they proved, the way a lookup in this session would leave it."""
    events: list[EventType] = [
        SlotSet("known_customer", True),
        SlotSet("customer_name", known["first_name"]),
    ]
    latest = known.get("latest_order_number")
    if latest:
        events += [
            SlotSet("order_number", latest),
            SlotSet("order_contact", known["email"]),
            SlotSet("email", known["email"]),
            SlotSet("verified_order", latest),
        ]
    return events


class ActionSessionStart(Action):
    """Rasa's session start (no slots carried over, as the domain says), plus what the API
    knows about a returning customer."""

    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        events: list[EventType] = [SessionStarted()]
        # The hub sends the channel in each message's metadata; the API decides which channels
        # identify a person (without metadata, from the conversation alone).
        metadata = tracker.get_slot("session_started_metadata") or {}
        channel = metadata.get("channel") if isinstance(metadata, dict) else None
        try:
            known = await get_client().known_customer(
                tracker.sender_id, channel=channel if isinstance(channel, str) else None
            )
        except ApiError as exc:  # not known (404), or the API is unreachable
            if exc.status != 404:
                logger.warning("known customer: %s", exc)
        else:
            events += known_customer_slots(known)
        events.append(ActionExecuted("action_listen"))
        return events
