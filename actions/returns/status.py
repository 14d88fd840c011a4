"""The status of a return already started: found by its RMA number, or through the
verified order."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT
from rasa_sdk.types import DomainDict

from actions.api_client import ApiError, NotFound
from actions.common import (
    OpsAction,
    clear_offer,
    latest_entity,
    latest_intent,
    latest_text,
    verified_order_view,
)
from actions.orders import not_verified
from actions.returns.shared import proof
from actions.returns.wording import describe_rma
from actions.verification import ORDER_SLOTS, VerifiedFormValidation, order_slots_known
from opsdesk_ids import canonical_rma_number, find_rma_number


class ValidateReturnStatusForm(VerifiedFormValidation):
    trigger_intents = {"return_status"}
    helper_slots = ("rma_unknown",)

    def name(self) -> str:
        return "validate_return_status_form"

    def skipped_slots(self, tracker: Tracker) -> set[str]:
        # By its RMA number, or (number unknown, or an order already named) by the order.
        if tracker.get_slot("rma_number"):
            return set(ORDER_SLOTS)
        if (
            tracker.get_slot("rma_unknown")
            or tracker.get_slot("order_number")
            or tracker.get_slot("verified_order")
        ):
            return {"rma_number"}
        return set(ORDER_SLOTS)

    async def extract_rma_number(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot(REQUESTED_SLOT) != "rma_number":
            return {}
        if latest_entity(tracker, "rma_number") is not None:
            return {}
        if latest_entity(tracker, "order_number") is not None:
            return {}  # looked up through the order instead
        text = latest_text(tracker)
        found = find_rma_number(text)
        if found:
            return {"rma_number": found}
        if latest_intent(tracker) == "deny" or re.search(
            r"don'?t (have|know)|no idea|lost it|not sure|can'?t find", text, re.I
        ):
            return {"rma_unknown": True}
        if self.answers(tracker):
            dispatcher.utter_message(
                text="A return number looks like RMA-004512. If you don't have it, just tell "
                "me your order number instead."
            )
            return {"rma_number": None}
        return {}

    async def validate_rma_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:
            return {"rma_number": None}
        rma = canonical_rma_number(value)
        if rma:
            try:
                await self.client.get_return(rma)
                return {"rma_number": rma}
            except NotFound:
                pass
        dispatcher.utter_message(
            text=f"I couldn't find a return with the number {rma or value}. Please check it, "
            "or tell me your order number instead."
        )
        return {"rma_number": None}


class ActionAskRmaNumber(OpsAction):
    def name(self) -> str:
        return "action_ask_rma_number"

    async def act(self, dispatcher, tracker, domain) -> list[EventType]:
        dispatcher.utter_message(
            text="What's your return number? It looks like RMA-004512. If you don't have it, "
            "just tell me your order number.",
            buttons=[{"title": "I don't have it", "payload": "/deny"}],
        )
        return []


class ActionReturnStatus(OpsAction):
    doing = "check your return"
    ends_turn = True

    def name(self) -> str:
        return "action_return_status"

    async def act(self, dispatcher, tracker, domain) -> list[EventType]:
        events: list[EventType] = [SlotSet("rma_unknown", None)] + clear_offer(tracker)
        verified = tracker.get_slot("verified_order")
        rma_number = canonical_rma_number(tracker.get_slot("rma_number"))
        if rma_number:
            try:
                rma = await self.client.get_return(
                    rma_number, proof=proof(tracker) if verified else None
                )
            except NotFound:
                dispatcher.utter_message(
                    text=f"I couldn't find a return with the number {rma_number}."
                )
                return events + [SlotSet("rma_number", None)]
            dispatcher.utter_message(text=describe_rma(rma, verified))
            return events
        number = order_slots_known(tracker)
        if not number:
            return [SlotSet("rma_unknown", None)] + not_verified(dispatcher, tracker)
        order = await verified_order_view(tracker, self.client) or {}
        refs = order.get("returns") or []
        if not refs:
            dispatcher.utter_message(
                text=f"There's no return on order #{number} yet. Would you like to start one?",
                buttons=[{"title": "Start a return", "payload": "/initiate_return"}],
            )
            return events
        for ref in refs[-3:]:
            try:
                rma = await self.client.get_return(ref["rma_number"], proof=proof(tracker))
            except ApiError as error:
                if isinstance(error, NotFound):
                    continue
                raise
            dispatcher.utter_message(text=describe_rma(rma, number))
        return events
