"""Booking the return the customer confirmed (the RMA), once and only once."""

from __future__ import annotations

import hashlib
from typing import Any

from rasa_sdk.events import EventType, SlotSet

from actions.api_client import Conflict, NotEligible
from actions.common import OpsAction, clear_offer, offer_person
from actions.orders import not_verified
from actions.returns.shared import RETURN_SLOTS, proof
from actions.returns.wording import describe_new_rma
from actions.verification import order_slots_known


def return_idempotency_key(
    sender_id: str, order_number: str, lines: list[dict[str, Any]], resolution: str
) -> str:
    """Same conversation + same order + same selected lines (and choices) -> same key: a
    retried confirm (network retry, double click, action re-run) gets the first RMA back
    instead of creating a second one. A changed request gets its own key, because the API
    refuses a key reused with a different body."""
    chosen = ",".join(
        sorted(
            f"{ln['sku']}:{int(ln['quantity'])}:{ln.get('reason')}:{ln.get('exchange_sku') or ''}"
            for ln in lines
        )
    )
    digest = hashlib.sha256(
        f"{sender_id}|{order_number}|{chosen}|{resolution}".encode()
    ).hexdigest()
    return f"opsdesk-return-{digest[:40]}"


class ActionSubmitReturn(OpsAction):
    doing = "book the return"
    ends_turn = True

    def name(self) -> str:
        return "action_submit_return"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        # Whatever happened, the next return starts from a clean form.
        return events + [SlotSet(s, None) for s in RETURN_SLOTS]

    async def act(self, dispatcher, tracker, domain) -> list[EventType]:
        number = order_slots_known(tracker)
        confirmed = tracker.get_slot("return_confirmed")
        if not number:
            return not_verified(dispatcher, tracker)
        if confirmed is None:
            return []  # the form stopped early and already said why
        if confirmed is False:
            dispatcher.utter_message(
                text="Okay, I haven't booked anything. If you change your mind, just say "
                "'start a return'."
            )
            return clear_offer(tracker)
        items = tracker.get_slot("return_items") or []
        reason = tracker.get_slot("return_reason") or "other"
        resolution = tracker.get_slot("resolution") or "refund"
        exchange_sku = tracker.get_slot("exchange_sku")
        lines = []
        for item in items:
            line = {"sku": item["sku"], "quantity": int(item["quantity"]), "reason": reason}
            if resolution == "exchange":
                line["exchange_sku"] = exchange_sku
            lines.append(line)
        try:
            rma = await self.client.create_return(
                number,
                lines,
                resolution,
                proof=proof(tracker),
                idempotency_key=return_idempotency_key(
                    tracker.sender_id, number, lines, resolution
                ),
                conversation_id=tracker.sender_id,
            )
        except NotEligible as refused:
            return offer_person(
                dispatcher,
                f"Sorry, I couldn't book the return: {refused.detail or 'the return policy does not allow it'}. "
                "A person on our team can take a look. Shall I connect you?",
                "return_not_eligible",
            )
        except Conflict as conflict:
            what = (
                "the size you chose for the exchange has just sold out"
                if conflict.code == "insufficient_stock"
                else (conflict.detail or "something changed on the order")
            )
            return offer_person(
                dispatcher,
                f"Sorry, I couldn't book the return: {what}. You can start again with another "
                "choice, or a person on our team can help. Shall I connect you?",
                "return_failed",
            )
        dispatcher.utter_message(text=describe_new_rma(rma))
        return [SlotSet("rma_number", rma["rma_number"])] + clear_offer(tracker)
