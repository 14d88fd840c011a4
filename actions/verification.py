"""Proving an order belongs to the customer: order number + email or postal code, checked
through POST /orders/lookup. Shared by every form that needs a verified order."""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT, FormValidationAction
from rasa_sdk.types import DomainDict

from actions.api_client import (
    ApiUnavailable,
    NotFound,
    OpsApiClient,
    RateLimited,
    bind_turn,
    get_client,
)
from actions.common import (
    api_down,
    contact_kind,
    contact_proof,
    find_email,
    find_postal_code,
    latest_entity,
    latest_intent,
    latest_text,
    offer_person,
    offer_was_made,
    parse_contact,
)
from actions.history import last_user_index, value_before_latest_message
from actions.order_entities import sort_out_numbers, undo_misread_order_number
from opsdesk_ids import canonical_order_number, find_order_number

logger = logging.getLogger(__name__)

# Intents that answer the form's question. Anything else (a product question, "are you a
# bot?", "stop", a complaint) is an interruption: the form is rejected and the rules run.
ANSWER_INTENTS = {"inform", "affirm", "deny", "nlu_fallback"}
_OTHER_ORDER_RE = re.compile(r"\b(other|another|second|different|next|older|new)\b", re.I)

ORDER_SLOTS = ["order_number", "order_contact"]


NOT_AN_ORDER_NUMBER = (
    "Hmm, that doesn't look like an order number. You'll find it in your order confirmation "
    "email, for example #10482."
)


class VerifiedFormValidation(FormValidationAction, ABC):
    """Validation for a form whose first slots are order_number and order_contact."""

    # Intents that start the form: a bare answer may come with them ("order 10001").
    trigger_intents: set = set()
    # Slots an extract_ method may set besides the required ones.
    helper_slots: tuple = ()

    @property
    def client(self) -> OpsApiClient:
        return get_client()

    # Abstract, so the action server does not register this base class as an action of its
    # own (rasa_sdk registers every concrete subclass of Action and asks each for its name).
    @abstractmethod
    def name(self) -> str:
        """The validation action's name: validate_<form name>."""

    def skipped_slots(self, tracker: Tracker) -> set[str]:
        """Slots of the domain's required_slots not asked for now, given what is known.
        The domain lists every slot the form can ask for, in asking order; a form only
        leaves some out, so the domain says what runs."""
        return set()

    def was_active_before(self, tracker: Tracker) -> bool:
        """Was the form already running when the latest message came in? (Rasa marks the
        form active in the tracker it sends even on the call that activates it.)"""
        last_user = last_user_index(tracker, default=0)
        loop = None
        for event in tracker.events[:last_user]:
            if event.get("event") == "active_loop":
                loop = event.get("name")
        return loop == self.form_name()

    def answers(self, tracker: Tracker) -> bool:
        return latest_intent(tracker) in ANSWER_INTENTS | self.trigger_intents

    def is_verified(self, tracker: Tracker) -> bool:
        number = canonical_order_number(tracker.get_slot("order_number"))
        return bool(number) and number == tracker.get_slot("verified_order")

    def verification_blocked(self, tracker: Tracker) -> bool:
        # Set when the API said no tries are left: the limit is the API's, not counted here.
        return bool(tracker.get_slot("verification_blocked")) and not self.is_verified(tracker)

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if self.verification_blocked(tracker):
            return []
        skipped = self.skipped_slots(tracker)
        return [slot for slot in domain_slots if slot not in skipped]

    # ------------------------------------------------------------------ run
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        bind_turn(tracker)
        try:
            events: list[EventType] = undo_misread_order_number(tracker)
            events += sort_out_numbers(tracker)
            tracker.add_slots(events)
            if not self.was_active_before(tracker):
                activation = await self.on_activation(dispatcher, tracker)
                if offer_was_made(activation):
                    return events + activation + [SlotSet(REQUESTED_SLOT, None)]
                tracker.add_slots(activation)
                events += activation
            events += await super().run(dispatcher, tracker, domain)
        except ApiUnavailable:
            events = api_down(dispatcher, "check your order")
        except Exception:  # noqa: BLE001 - a crash here would leave the customer in silence
            logger.exception("validation of %s failed", self.form_name())
            events = offer_person(
                dispatcher,
                "Sorry, something went wrong on my side. A person on our team can take it "
                "from here. Would you like that?",
                "bot_error",
            )
        # Whenever a person was offered, the form stops here and the offer stands.
        if offer_was_made(events):
            events.append(SlotSet(REQUESTED_SLOT, None))
        return events

    async def on_activation(
        self, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        if self.verification_blocked(tracker):
            return offer_person(
                dispatcher,
                "I'm sorry, I couldn't verify an order after several tries, so for your "
                "security I can't look up orders in this chat. A person on our team can "
                "help you. Shall I connect you?",
                "verification_failed",
            )
        # "And my other order?": the customer is verified, only the number is new.
        if (
            tracker.get_slot("verified_order")
            and latest_entity(tracker, "order_number") is None
            and _OTHER_ORDER_RE.search(latest_text(tracker))
        ):
            return [SlotSet("order_number", None)]
        return []

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        # rasa_sdk keeps only required slots from the extraction; keep the helper ones too.
        helpers = [
            SlotSet(name, value)
            for name, value in tracker.slots_to_validate().items()
            if name in self.helper_slots
        ]
        events = helpers + await super().get_validation_events(dispatcher, tracker, domain)
        tracker.add_slots(events)
        if offer_was_made(events):
            return events
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        if "order_number" not in required:
            return events  # e.g. a return found by its RMA number needs no order
        verification = await self.verify(dispatcher, tracker)
        tracker.add_slots(verification)
        return events + verification

    # ------------------------------------------------------- order number
    async def extract_order_number(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot(REQUESTED_SLOT) != "order_number":
            return {}
        if latest_entity(tracker, "order_number") is not None:
            return {}  # the slot mapping has it
        number = find_order_number(latest_text(tracker))
        if number:
            return {"order_number": number}
        if self.answers(tracker) and not find_email(latest_text(tracker)):
            dispatcher.utter_message(text=NOT_AN_ORDER_NUMBER)
            return {"order_number": None}
        return {}

    async def validate_order_number(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if value is None:
            return {"order_number": None}
        number = canonical_order_number(value)
        previous = value_before_latest_message(tracker, "order_number")
        text = latest_text(tracker)
        postal = find_postal_code(text)
        if (
            tracker.get_slot(REQUESTED_SLOT) == "order_contact"
            and previous
            and postal
            and canonical_order_number(postal) == number
        ):
            # Asked for the postal code, got "94110": the NLU took it for an order number.
            return {"order_number": previous}
        if not number:
            dispatcher.utter_message(text=NOT_AN_ORDER_NUMBER)
        return {"order_number": number}

    # ------------------------------------------------------ email / postal
    async def extract_order_contact(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = latest_text(tracker)
        asked = tracker.get_slot(REQUESTED_SLOT) == "order_contact"
        postal = latest_entity(tracker, "postal_code") or (
            find_postal_code(text) if asked else None
        )
        if postal and not asked:
            # "#10001" looks like a ZIP code too: unless asked for one, a number that is
            # also the message's order number is the order number.
            numbers = {find_order_number(text)} | {
                canonical_order_number(v) for v in tracker.get_latest_entity_values("order_number")
            }
            if canonical_order_number(postal) in numbers:
                postal = None
        found = latest_entity(tracker, "email") or find_email(text) or postal
        if found:
            return {"order_contact": found}
        if asked and self.answers(tracker):
            dispatcher.utter_message(
                text="I need the email address or the postal code the order was placed "
                "with, for example jane.doe@example.com or 94110."
            )
            return {"order_contact": None}
        return {}

    async def validate_order_contact(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if value is None:
            return {"order_contact": None}
        contact = parse_contact(value)
        if not contact:
            dispatcher.utter_message(
                text="That doesn't look like an email address or a postal code. Could you check it?"
            )
        return {"order_contact": contact}

    # ---------------------------------------------------------- the lookup
    async def verify(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        """Look the order up once both halves are known and not yet verified together."""
        number = canonical_order_number(tracker.get_slot("order_number"))
        contact = tracker.get_slot("order_contact")
        if not number or not contact or self.is_verified(tracker):
            return []
        # The contact verified an earlier order and wasn't typed again now: a miss means
        # the new order is under another email, not that the customer got it wrong.
        typed_now = parse_contact(
            latest_entity(tracker, "email")
            or latest_entity(tracker, "postal_code")
            or latest_text(tracker)
        )
        remembered = bool(tracker.get_slot("verified_order")) and typed_now != contact
        failures = int(tracker.get_slot("verification_failures") or 0)
        try:
            order = await self.client.lookup_order(
                number, conversation_id=tracker.sender_id, **contact_proof(contact)
            )
        except RateLimited:
            return [SlotSet("verification_blocked", True)] + offer_person(
                dispatcher,
                "I'm sorry, there have been too many attempts to verify an order in this chat, "
                "so for your security I have to stop here. A person on our team can help you. "
                "Shall I connect you?",
                "verification_failed",
            )
        except NotFound as missed:
            # The API counts every failed proof and says how many are left.
            tries_left = (missed.body or {}).get("tries_left")
            blocked = tries_left is not None and int(tries_left) <= 0
            if remembered and not blocked:
                # An order under another email: ask again, it's not the customer's mistake.
                dispatcher.utter_message(
                    text=f"Order #{number} isn't under the {contact_kind(contact)} you gave "
                    "me before, so I need to check once more."
                )
                return [SlotSet("order_contact", None)]
            failures += 1
            events: list[EventType] = [
                SlotSet("verification_failures", float(failures)),
                SlotSet("order_number", None),
                SlotSet("order_contact", None),
            ]
            if blocked:
                return (
                    events
                    + [SlotSet("verification_blocked", True)]
                    + offer_person(
                        dispatcher,
                        f"I'm sorry, I still can't find order #{number} with that "
                        f"{contact_kind(contact)}, so for your security I'll stop trying here. "
                        "A person on our team can help you. Shall I connect you?",
                        "verification_failed",
                    )
                )
            dispatcher.utter_message(
                text=f"Hmm, I couldn't find order #{number} with that {contact_kind(contact)}. "
                "Please check both against your order confirmation email and let's try again."
            )
            return events
        first_name = (order.get("customer") or {}).get("first_name")
        greeting = f"Thanks, {first_name}! " if first_name else "Thanks! "
        dispatcher.utter_message(text=f"{greeting}I found order #{order['order_number']}.")
        kind = "email" if "@" in contact else "postal_code"
        return [
            SlotSet("order_number", order["order_number"]),
            SlotSet("verified_order", order["order_number"]),
            SlotSet("verification_failures", 0.0),
            SlotSet(kind, contact),
            SlotSet("order_can_cancel", bool(order.get("can_cancel"))),
        ]


def order_slots_known(tracker: Tracker) -> str | None:
    """The verified order number when the form's order slots are settled, else None."""
    number = canonical_order_number(tracker.get_slot("order_number"))
    return number if number and number == tracker.get_slot("verified_order") else None
