"""Order status and cancellation, for a customer verified by actions/verification.py."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.api_client import ApiError, Conflict, NotFound
from actions.common import (
    OpsAction,
    clear_offer,
    contact_proof,
    join_words,
    line_label,
    money,
    nice_date,
    offer_person,
    short_date,
    verified_order_view,
)
from actions.verification import VerifiedFormValidation, order_slots_known

logger = logging.getLogger(__name__)

RETURN_BUTTONS = [
    {"title": "Start a return", "payload": "/initiate_return"},
    {"title": "Talk to a person", "payload": "/human_handoff"},
]


# ------------------------------------------------------------------- forms
class ValidateOrderVerificationForm(VerifiedFormValidation):
    trigger_intents = {"order_status"}

    def name(self) -> str:
        return "validate_order_verification_form"


class ValidateCancelOrderForm(VerifiedFormValidation):
    trigger_intents = {"cancel_order"}

    def name(self) -> str:
        return "validate_cancel_order_form"

    def skipped_slots(self, tracker: Tracker) -> set[str]:
        # Confirmation only for an order that can still be cancelled (the API's can_cancel);
        # otherwise the action explains why not.
        if order_slots_known(tracker) and tracker.get_slot("order_can_cancel"):
            return set()
        return {"cancel_confirmed"}


class ActionAskOrderNumber(OpsAction):
    def name(self) -> str:
        return "action_ask_order_number"

    async def act(self, dispatcher, tracker, domain) -> list[EventType]:
        dispatcher.utter_message(
            text="What's your order number? It's in your order confirmation email, "
            "for example #10482."
        )
        return []


class ActionAskOrderContact(OpsAction):
    def name(self) -> str:
        return "action_ask_order_contact"

    async def act(self, dispatcher, tracker, domain) -> list[EventType]:
        number = tracker.get_slot("order_number")
        which = f"order #{number}" if number else "the order"
        dispatcher.utter_message(
            text=f"Thanks. To keep your details safe, what's the email address or the "
            f"postal code {which} was placed with?"
        )
        return []


class ActionAskCancelConfirmed(OpsAction):
    doing = "check the order"

    def name(self) -> str:
        return "action_ask_cancel_confirmed"

    async def act(self, dispatcher, tracker, domain) -> list[EventType]:
        order = await verified_order_view(tracker, self.client)
        items = join_words(
            f"{ln['quantity']} × {line_label(ln)}" for ln in (order or {}).get("lines", [])
        )
        number = tracker.get_slot("verified_order")
        dispatcher.utter_message(
            text=f"Order #{number} ({items}) hasn't shipped yet, so I can still cancel it. "
            "Do you want me to cancel the whole order?",
            buttons=[
                {"title": "Yes, cancel it", "payload": "/affirm"},
                {"title": "No, keep it", "payload": "/deny"},
            ],
        )
        return []


# ------------------------------------------------------------------ status
def _latest_shipment(order: dict[str, Any]) -> dict[str, Any] | None:
    shipments = order.get("shipments") or []
    return shipments[-1] if shipments else None


def _latest_event(shipment: dict[str, Any]) -> dict[str, Any] | None:
    events = sorted(shipment.get("events") or [], key=lambda e: str(e.get("occurred_at")))
    return events[-1] if events else None


def describe_shipment(order: dict[str, Any]) -> list[str]:
    shipment = _latest_shipment(order)
    # `shipped` is the API's: the parcel left the warehouse. A returned order's outbound
    # parcel is history; its status line says all there is.
    if not shipment or not order.get("shipped") or order.get("status") == "returned":
        return []
    carrier, number = shipment.get("carrier"), shipment.get("tracking_number")
    parts: list[str] = []
    if order.get("status") == "delivered":
        when = shipment.get("delivered_at") or order.get("delivered_at")
        parts.append(f"{carrier} delivered it on {nice_date(when)} (tracking {number}).")
    else:
        parts.append(
            f"It's with {carrier}, tracking number {number}: {shipment.get('tracking_url')}"
        )
    event = _latest_event(shipment)
    if event and order.get("status") != "delivered":
        where = f", {event['location']}" if event.get("location") else ""
        parts.append(
            f"Latest update ({short_date(event.get('occurred_at'))}{where}): "
            f"{event.get('description')}."
        )
    promised = shipment.get("promised_delivery_date") or order.get("promised_delivery_date")
    if promised and order.get("awaiting_delivery"):  # the API's: no promise once settled
        parts.append(f"It was promised by {nice_date(promised)}.")
    return parts


class ActionOrderStatus(OpsAction):
    doing = "check your order"
    ends_turn = True

    def name(self) -> str:
        return "action_order_status"

    async def act(self, dispatcher, tracker, domain) -> list[EventType]:
        if not order_slots_known(tracker):
            return not_verified(dispatcher, tracker)
        try:
            order = await verified_order_view(tracker, self.client)
        except NotFound:
            order = None
        if not order:
            return not_verified(dispatcher, tracker)
        number, status = order["order_number"], order.get("status")
        lines = [f"Order #{number} is {order.get('status_text') or status}."]
        lines += describe_shipment(order)
        if status == "backordered":
            lines += await self._restock_notes(order)
        dispatcher.utter_message(text=" ".join(lines))
        events: list[EventType] = [SlotSet("order_can_cancel", bool(order.get("can_cancel")))]

        if status == "lost":
            return events + offer_person(
                dispatcher,
                "I'm so sorry: the carrier has confirmed your parcel was lost. A person on our "
                "team will arrange a replacement or a refund. Shall I connect you now?",
                "lost_order",
            )
        if status == "delayed" or order.get("late"):  # late: the API's answer
            return events + offer_person(
                dispatcher,
                "I'm sorry it's running late. If you'd like, a person on our team can chase "
                "the carrier for you. Shall I connect you?",
                "delayed_order",
            )
        if status == "backordered":
            return events + offer_person(
                dispatcher,
                "Sorry for the wait. If you'd rather not wait, a person on our team can help "
                "with options. Shall I connect you?",
                "backordered_order",
            )
        return events + clear_offer(tracker)

    async def _restock_notes(self, order: dict[str, Any]) -> list[str]:
        notes = []
        for line in order.get("lines", []):
            if not line.get("backordered"):
                continue
            try:
                stock = await self.client.get_inventory(line["sku"])
            except ApiError:
                stock = {}
            when = stock.get("next_restock_date")
            expected = f", expected back around {nice_date(when)}" if when else ""
            notes.append(f"The {line_label(line)} is waiting for new stock{expected}.")
        return notes


def not_verified(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """After a form ended without a verified order. The form already explained and offered a
    person when it gave up; otherwise say it here."""
    if tracker.get_slot("handoff_offered"):
        return []
    return offer_person(
        dispatcher,
        "I couldn't verify that order, so I can't share its details here. A person on our "
        "team can help. Shall I connect you?",
        "verification_failed",
    )


# ------------------------------------------------------------ cancellation
# Whether an order may be cancelled, and why not, is the API's answer (`cancel_refusal` on
# the order, the same fields on a 409 order_not_cancellable); this file only words it.


class ActionCancelOrder(OpsAction):
    doing = "cancel your order"
    ends_turn = True

    def name(self) -> str:
        return "action_cancel_order"

    async def act(self, dispatcher, tracker, domain) -> list[EventType]:
        events: list[EventType] = [SlotSet("cancel_confirmed", None)]
        number = order_slots_known(tracker)
        if not number:
            return events + not_verified(dispatcher, tracker)
        confirmed = tracker.get_slot("cancel_confirmed")
        if confirmed is False:
            dispatcher.utter_message(text=f"Okay, I've left order #{number} as it is.")
            return events + clear_offer(tracker)
        if confirmed:
            return events + await self._cancel(dispatcher, tracker, number)
        order = await verified_order_view(tracker, self.client)
        if order and order.get("can_cancel"):
            # The form skipped the question on stale knowledge: ask for the go-ahead again.
            dispatcher.utter_message(
                text=f"Order #{number} can still be cancelled. Shall I cancel it?",
                buttons=[{"title": "Yes, cancel it", "payload": "/cancel_order"}],
            )
            return events + [SlotSet("order_can_cancel", True)] + clear_offer(tracker)
        return events + self._explain(dispatcher, tracker, order or {"order_number": number})

    async def _cancel(self, dispatcher, tracker, number: str) -> list[EventType]:
        try:
            order = await self.client.cancel_order(
                number,
                "customer asked in chat",
                proof=contact_proof(tracker.get_slot("order_contact") or ""),
            )
        except Conflict as refused:
            # Changed since the customer was asked (it shipped meanwhile): the API says why.
            body = refused.body if isinstance(refused.body, dict) else {}
            if body.get("next_step"):
                return self._explain(
                    dispatcher,
                    tracker,
                    {
                        "order_number": number,
                        "status": body.get("order_status"),
                        "cancel_refusal": body,
                    },
                )
            reason = refused.detail or "it can no longer be cancelled"
            dispatcher.utter_message(
                text=f"I'm sorry, I couldn't cancel order #{number}: {reason}",
                buttons=RETURN_BUTTONS,
            )
            return clear_offer(tracker)
        refund = ""
        payments = [p for p in order.get("payments", []) if p.get("amount")]
        if payments:
            pay = payments[0]
            card = (
                f"your {pay['card_brand']} card ending {pay['card_last4']}"
                if pay.get("card_brand") and pay.get("card_last4")
                else f"your {pay.get('method', 'original payment method').replace('_', ' ')}"
            )
            refund = (
                f" The {money(order.get('total', pay['amount']), order.get('currency', 'USD'))} "
                f"goes back to {card}; it usually shows within 5-10 business days."
            )
        dispatcher.utter_message(text=f"Done: order #{number} is cancelled.{refund}")
        return [SlotSet("order_can_cancel", False)] + clear_offer(tracker)

    def _explain(self, dispatcher, tracker, order: dict[str, Any]) -> list[EventType]:
        number = order["order_number"]
        refusal = order.get("cancel_refusal") or {}
        why = refusal.get("reason") or f"it is {order.get('status_text') or order.get('status')}"
        next_step = refusal.get("next_step") or "none"
        events: list[EventType] = [SlotSet("order_can_cancel", False)]
        if next_step == "person":
            lost = order.get("status") == "lost"
            help_with = (
                "will arrange a refund or a replacement"
                if lost
                else "can help with a delayed parcel"
            )
            sorry = "can't be cancelled" if lost else "can't be cancelled any more"
            return events + offer_person(
                dispatcher,
                f"Order #{number} {sorry}: {why}. A person on our team {help_with}. "
                "Shall I connect you?",
                "lost_order" if lost else "delayed_order",
            )
        if next_step == "none":
            dispatcher.utter_message(text=f"Order #{number} can't be cancelled: {why}.")
            return events + clear_offer(tracker)
        later = "now" if next_step == "return_now" else "once it arrives"
        dispatcher.utter_message(
            text=f"Order #{number} can't be cancelled any more: {why}. You can return it "
            f"{later} instead, and I can start the return for you.",
            buttons=RETURN_BUTTONS,
        )
        return events + clear_offer(tracker)
