"""What every action shares: parsing customer input, formatting, offering a person, and
the guard that turns API trouble into a plain answer instead of silence.

Order numbers, RMA numbers and SKUs are read with opsdesk_ids, the module the API uses too,
so the assistant and the API agree on what names an order or a return."""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.api_client import ApiUnavailable, OpsApiClient, bind_turn, get_client
from actions.history import user_events

logger = logging.getLogger(__name__)

SUPPORT_EMAIL = "support@fernhill.example"

PERSON_BUTTONS = [
    {"title": "Talk to a person", "payload": "/human_handoff"},
    {"title": "No thanks", "payload": "/deny"},
]

# ------------------------------------------------------------------ parsing
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_POSTAL_RES = [
    re.compile(r"\b\d{5}(?:-\d{4})?\b"),  # US ZIP, ZIP+4
    re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.I),  # UK
    re.compile(r"\b[A-Z]\d[A-Z]\s?\d[A-Z]\d\b", re.I),  # Canada
]


def find_email(text: str) -> str | None:
    match = EMAIL_RE.search(text or "")
    return match.group(0).lower() if match else None


def find_postal_code(text: str) -> str | None:
    for pattern in _POSTAL_RES:
        match = pattern.search(text or "")
        if match:
            return match.group(0).upper()
    return None


def parse_contact(value: Any) -> str | None:
    """An email (lower-cased) or a postal code (upper-cased), else None."""
    if not value:
        return None
    text = str(value).strip()
    return find_email(text) or find_postal_code(text)


def contact_proof(contact: str) -> dict[str, str]:
    """The lookup/returns body field for a contact: email or postal_code."""
    return {"email": contact} if "@" in contact else {"postal_code": contact}


def contact_kind(contact: str | None) -> str:
    return "email address" if contact and "@" in contact else "postal code"


def latest_entity(tracker: Tracker, entity: str) -> Any | None:
    return next(tracker.get_latest_entity_values(entity), None)


def latest_intent(tracker: Tracker) -> str:
    return (tracker.latest_message.get("intent") or {}).get("name") or ""


def latest_text(tracker: Tracker) -> str:
    return tracker.latest_message.get("text") or ""


def question_text(tracker: Tracker) -> str:
    """What the customer last asked in words. A button's payload ("/product_faq" after
    "Did you mean") stands for the message it answered, so that message is the question."""
    text = latest_text(tracker)
    if not text.startswith("/"):
        return text
    for event in reversed(user_events(tracker)):
        earlier = event.get("text") or ""
        if earlier and not earlier.startswith("/"):
            return earlier
    return ""


# --------------------------------------------------------------- formatting
def money(amount: Any, currency: str = "USD") -> str:
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return str(amount)
    symbol = "$" if currency == "USD" else f"{currency} "
    return f"{symbol}{value:,.2f}"


def _as_date(value: Any) -> date | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()
    except ValueError:
        try:
            return date.fromisoformat(str(value)[:10])
        except ValueError:
            return None


def nice_date(value: Any) -> str:
    """ "2026-11-29" -> "Sunday, November 29"."""
    day = _as_date(value)
    return f"{day:%A, %B} {day.day}" if day else str(value)


def short_date(value: Any) -> str:
    day = _as_date(value)
    return f"{day:%B} {day.day}" if day else str(value)


def variant_label(item: dict[str, Any]) -> str:
    """ "navy, M" from a line/variant with colour and size (sizes like OS left out)."""
    parts = [str(item.get("colour") or ""), str(item.get("size") or "")]
    return ", ".join(p for p in parts if p and p.upper() != "OS")


def line_label(line: dict[str, Any]) -> str:
    name = line.get("product_name") or line.get("sku", "item")
    label = variant_label(line)
    return f"{name} ({label})" if label else name


def first_upper(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def join_words(words: Iterable[str]) -> str:
    items = list(words)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# ------------------------------------------------------------ person offers
def offer_person(dispatcher: CollectingDispatcher, text: str, reason: str) -> list[EventType]:
    """Say `text` with buttons to reach a person; "yes" then hands off (see data/rules)."""
    dispatcher.utter_message(text=text, buttons=PERSON_BUTTONS)
    return [SlotSet("handoff_offered", True), SlotSet("handoff_reason", reason)]


def api_down(dispatcher: CollectingDispatcher, doing: str = "look that up") -> list[EventType]:
    return offer_person(
        dispatcher,
        f"Sorry, I can't reach our store system right now, so I can't {doing}. "
        "I can pass your question to a person on our team instead. Would you like that?",
        "system_unavailable",
    )


def clear_offer(tracker: Tracker) -> list[EventType]:
    """Forget an open offer of a person once the conversation has moved on."""
    return [SlotSet("handoff_offered", None)] if tracker.get_slot("handoff_offered") else []


def offer_was_made(events: list[EventType]) -> bool:
    return any(
        e.get("event") == "slot" and e.get("name") == "handoff_offered" and e.get("value")
        for e in events
    )


async def verified_order_view(tracker: Tracker, client: OpsApiClient) -> dict[str, Any] | None:
    """The verified order as the customer may see it, fetched fresh (None if not verified)."""
    number, contact = tracker.get_slot("verified_order"), tracker.get_slot("order_contact")
    if not number or not contact:
        return None
    return await client.lookup_order(
        number, conversation_id=tracker.sender_id, **contact_proof(contact)
    )


def listen_next(events: list[EventType]) -> list[EventType]:
    """`events`, and the customer's turn next. For an action after which every story and rule
    waits for the customer (tests/actions/test_turn_endings.py holds the data to that): Rasa
    then runs action_listen without the round of policy predictions that would only choose
    it, about 6 ms of CPU a turn (bench/bench_turn_cost.py)."""
    return [*events, FollowupAction("action_listen")]


class OpsAction(Action, ABC):
    """An action that never crashes or goes silent: API trouble becomes a plain apology
    with an offer of a person."""

    doing = "look that up"
    ends_turn = False  # the customer speaks next, whatever the action did (listen_next)

    @property
    def client(self) -> OpsApiClient:
        return get_client()

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        bind_turn(tracker)
        try:
            events = await self.act(dispatcher, tracker, domain)
        except ApiUnavailable:
            events = api_down(dispatcher, self.doing)
        except Exception:  # noqa: BLE001 - the customer must get an answer whatever broke
            logger.exception("action %s failed", self.name())
            events = offer_person(
                dispatcher,
                "Sorry, something went wrong on my side. A person on our team can take "
                "it from here. Would you like that?",
                "bot_error",
            )
        if self.name().startswith("action_ask_") and offer_was_made(events):
            # A form question that ends in an offer of a person ends the form: the
            # customer's "yes" then goes to the offer, not to the form.
            events.append(SlotSet("requested_slot", None))
        return listen_next(events) if self.ends_turn else events

    @abstractmethod
    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """The action's work; may raise the api_client errors."""
