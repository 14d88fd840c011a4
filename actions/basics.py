"""Leaving a form on "stop" / "never mind"."""

from __future__ import annotations

from rasa_sdk import Action
from rasa_sdk.events import EventType, SlotSet

from actions.returns import RETURN_SLOTS


class ActionStopForm(Action):
    """After action_deactivate_loop: say so, and forget the half-filled answers (the
    verified order stays verified)."""

    def name(self) -> str:
        return "action_stop_form"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        dispatcher.utter_message(
            text="Okay, I've stopped there. Nothing was changed. What else can I help with?"
        )
        forget = RETURN_SLOTS + ["cancel_confirmed", "rma_unknown", "requested_slot"]
        events: list[EventType] = [SlotSet(slot, None) for slot in forget]
        verified = tracker.get_slot("verified_order")
        events.append(SlotSet("order_number", verified))
        if not verified:
            events.append(SlotSet("order_contact", None))
        return events
