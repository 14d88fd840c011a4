"""Handing the conversation to a person (a ticket in the human queue), declining the offer,
and the fallback when the bot doesn't understand."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.api_client import ApiError, bind_turn, get_client
from actions.common import SUPPORT_EMAIL, latest_intent, line_label, listen_next
from actions.history import latest_user_event, previous_turn_ran, user_events

logger = logging.getLogger(__name__)

HIGH_PRIORITY_REASONS = {"complaint", "lost_order"}
# What the bot tried that didn't work, in the agent's words.
REASON_NOTES = {
    "customer_request": "Customer asked for a person.",
    "complaint": "Customer is unhappy (complaint).",
    "bot_misunderstanding": "The bot did not understand the customer twice in a row.",
    "verification_failed": "The customer could not verify the order (order number + email/postal code).",
    "system_unavailable": "The operations API was unreachable from the bot.",
    "lost_order": "The carrier confirmed the parcel lost: refund or replacement needed.",
    "delayed_order": "The parcel is late; the customer may want the carrier chased.",
    "backordered_order": "An item is backordered; the customer may want options.",
    "return_not_eligible": "The return policy refused the return; a person must decide.",
    "return_failed": "Booking the return failed.",
    "unanswered_question": "The knowledge base had no confident answer.",
    "bot_error": "The bot hit an internal error.",
}
INTROS = {
    "complaint": "I'm really sorry about this. I'm passing your conversation to a person on our team right away.",
    "bot_misunderstanding": "Sorry, I'm still not getting it. Let me bring in a person from our team.",
}


def handoff_reason(tracker: Tracker, reason: str | None = None) -> tuple[str, str]:
    """(reason, priority) for the ticket."""
    if reason:
        pass
    elif latest_intent(tracker) == "complaint":
        reason = "complaint"
    else:
        reason = tracker.get_slot("handoff_reason") or "customer_request"
    return reason, "high" if reason in HIGH_PRIORITY_REASONS else "normal"


def _intent_trail(tracker: Tracker) -> list[str]:
    trail: list[str] = []
    for event in user_events(tracker):
        name = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if name and (not trail or trail[-1] != name):
            trail.append(name)
    return trail[-12:]


def conversation_summary(tracker: Tracker, reason: str) -> str:
    """What the bot learned, so the agent doesn't ask again."""
    lines = [REASON_NOTES.get(reason, f"Reason: {reason}.")]
    lines.append("Intents: " + (" -> ".join(_intent_trail(tracker)) or "none"))
    verified = tracker.get_slot("verified_order")
    failures = int(tracker.get_slot("verification_failures") or 0)
    if verified:
        lines.append(f"Verified order: #{verified}.")
    elif tracker.get_slot("order_number"):
        lines.append(f"Order mentioned (not verified): #{tracker.get_slot('order_number')}.")
    if failures:
        lines.append(f"Failed verification attempts: {failures}.")
    items = tracker.get_slot("return_items") or []
    if items:
        lines.append(
            "Return items: "
            + "; ".join(f"{i['quantity']} × {line_label(i)} [{i['sku']}]" for i in items)
        )
    for slot, label in (
        ("return_reason", "Return reason"),
        ("resolution", "Resolution"),
        ("rma_number", "RMA"),
        ("product", "Product asked about"),
    ):
        if tracker.get_slot(slot):
            lines.append(f"{label}: {tracker.get_slot(slot)}.")
    last = tracker.latest_message.get("text")
    if last:
        lines.append(f'Last customer message: "{last[:300]}"')
    return "\n".join(lines)


def _channel(tracker: Tracker) -> str:
    """The hub may name the customer's channel in the message metadata."""
    metadata = latest_user_event(tracker).get("metadata") or {}
    channel = metadata.get("channel") or tracker.get_latest_input_channel()
    return str(channel or "web")[:20]


def _ticket_key(tracker: Tracker, reason: str) -> str:
    """One ticket per customer turn: a retried action doesn't queue the customer twice."""
    user = latest_user_event(tracker)
    seed = f"{tracker.sender_id}|{user.get('timestamp')}|{reason}"
    return "opsdesk-ticket-" + hashlib.sha256(seed.encode()).hexdigest()[:40]


async def open_ticket(
    dispatcher: CollectingDispatcher, tracker: Tracker, reason: str | None = None
) -> list[EventType]:
    """Create the ticket and tell the customer what happens next (or how to reach us)."""
    bind_turn(tracker)
    reason, priority = handoff_reason(tracker, reason)
    email = tracker.get_slot("email") or None
    order = tracker.get_slot("verified_order") or tracker.get_slot("order_number") or None
    done: list[EventType] = [SlotSet("handoff_offered", None), SlotSet("handoff_reason", None)]
    try:
        ticket: dict[str, Any] = await get_client().create_ticket(
            conversation_id=tracker.sender_id,
            channel=_channel(tracker),
            reason=reason,
            priority=priority,
            summary=conversation_summary(tracker, reason),
            idempotency_key=_ticket_key(tracker, reason),
            customer_email=email,
            order_number=order,
        )
    except ApiError:
        logger.warning("ticket for %s could not be created", tracker.sender_id, exc_info=True)
        dispatcher.utter_message(
            text="I'm sorry, I can't reach our team's queue right now either. Please email "
            f"{SUPPORT_EMAIL} (with your order number if you have one) and we'll get back "
            "to you."
        )
        return done
    except Exception:  # noqa: BLE001 - never leave the customer without an answer
        logger.exception("ticket creation failed")
        dispatcher.utter_message(
            text=f"I'm sorry, something went wrong. Please email {SUPPORT_EMAIL} and we'll get "
            "back to you."
        )
        return done
    dispatcher.utter_message(
        text=INTROS.get(reason, "Sure, I'm bringing in a person from our team.")
    )
    dispatcher.utter_message(
        text=ticket.get("customer_message") or "A person will get back to you soon."
    )
    return done + [SlotSet("ticket_id", str(ticket.get("id")))]


class ActionHandoff(Action):
    ends_turn = True  # the customer (or now a person) speaks next: listen_next
    def name(self) -> str:
        return "action_handoff"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        return listen_next(await open_ticket(dispatcher, tracker))


class ActionDeclineHandoff(Action):
    ends_turn = True
    def name(self) -> str:
        return "action_decline_handoff"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        dispatcher.utter_message(text="No problem. Is there anything else I can help with?")
        return listen_next([SlotSet("handoff_offered", None), SlotSet("handoff_reason", None)])


def _previous_turn_was_fallback(tracker: Tracker) -> bool:
    """Did the bot answer the customer's previous message with the fallback too?"""
    return previous_turn_ran(tracker, "action_fallback")


# What the customer may have meant, in their words: the intents a "Did you mean" offers.
# Small talk (greet, thank, affirm...) is never offered: guessing it helps nobody.
SUGGESTIONS = {
    "order_status": "Track an order",
    "cancel_order": "Cancel an order",
    "initiate_return": "Return or exchange something",
    "return_status": "Check a return or refund",
    "product_faq": "A product or policy question",
    "stock_availability": "Check stock or sizes",
    "human_handoff": "Talk to a person",
    "complaint": "Report a problem",
}
# A meaning below this share of the model's belief is not worth a button.
MIN_SUGGESTION_CONFIDENCE = 0.08
MAX_SUGGESTIONS = 2


def did_you_mean(parse_data: dict[str, Any]) -> list[dict[str, str]]:
    """Buttons for the likeliest meanings of an unclear message, best first, each carrying
    the entities already understood (an order number isn't asked for twice), then a person."""
    entities: dict[str, Any] = {}
    for entity in parse_data.get("entities") or []:
        name, value = entity.get("entity"), entity.get("value")
        if name and isinstance(value, str | int | float) and name not in entities:
            entities[name] = value
    suffix = json.dumps(entities, separators=(",", ":")) if entities else ""
    buttons: list[dict[str, str]] = []
    for ranked in parse_data.get("intent_ranking") or []:
        name = ranked.get("name")
        if (
            name in SUGGESTIONS
            and name != "human_handoff"
            and (ranked.get("confidence") or 0) >= MIN_SUGGESTION_CONFIDENCE
        ):
            buttons.append({"title": SUGGESTIONS[name], "payload": f"/{name}{suffix}"})
        if len(buttons) == MAX_SUGGESTIONS:
            break
    buttons.append({"title": SUGGESTIONS["human_handoff"], "payload": "/human_handoff"})
    return buttons


class ActionFallback(Action):
    """Low NLU confidence or no confident next step. The first time, ask instead of
    guessing: offer the likeliest meanings as buttons (and a person). The second time in a
    row, hand over to a person."""

    def name(self) -> str:
        return "action_fallback"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        if _previous_turn_was_fallback(tracker):
            return await open_ticket(dispatcher, tracker, "bot_misunderstanding")
        buttons = did_you_mean(tracker.latest_message or {})
        if len(buttons) > 1:
            dispatcher.utter_message(
                text="Sorry, I'm not sure I understood. Did you mean one of these? "
                "Or say it another way.",
                buttons=buttons,
            )
            return []
        dispatcher.utter_message(
            text="Sorry, I didn't quite get that. Could you say it another way? I can track "
            "orders, start or check returns, cancel an order, check stock and answer product "
            "questions.",
            buttons=[
                {"title": "Track my order", "payload": "/order_status"},
                {"title": "Start a return", "payload": "/initiate_return"},
                {"title": "Talk to a person", "payload": "/human_handoff"},
            ],
        )
        return []
