"""The return form's questions (action_ask_*): which item, why, which resolution, which
size or colour instead, and the summary to confirm."""

from __future__ import annotations

from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.forms import REQUESTED_SLOT

from actions.common import (
    OpsAction,
    first_upper,
    line_label,
    variant_label,
    verified_order_view,
)
from actions.returns.parsing import REASONS, returnable_lines
from actions.returns.shared import exchange_choices, proof
from actions.returns.wording import refused_return, return_summary


class ActionAskReturnItems(OpsAction):
    doing = "look at your order"

    def name(self) -> str:
        return "action_ask_return_items"

    async def act(self, dispatcher, tracker, domain) -> list[EventType]:
        order = await verified_order_view(tracker, self.client)
        if not order:
            return [SlotSet(REQUESTED_SLOT, None)]
        number = order["order_number"]
        refusal = order.get("return_refusal")
        if refusal:  # the API's answer: nothing on this order can be returned (yet)
            return [SlotSet(REQUESTED_SLOT, None), *refused_return(dispatcher, order, refusal)]
        lines = returnable_lines(order)
        if not lines:
            dispatcher.utter_message(
                text=f"Everything on order #{number} has already been returned or is in a return."
            )
            return [SlotSet(REQUESTED_SLOT, None)]
        buttons = []
        for line in lines:
            most = int(line["returnable_quantity"])
            for quantity in range(1, min(most, 3) + 1):
                title = line_label(line) if most == 1 else f"{line_label(line)} × {quantity}"
                payload = f'/inform{{"sku": "{line["sku"]}", "quantity": "{quantity}"}}'
                buttons.append({"title": title, "payload": payload})
        if len(lines) > 1:
            buttons.append({"title": "Everything", "payload": '/inform{"sku": "ALL"}'})
        dispatcher.utter_message(
            text=f"Which item from order #{number} would you like to return?", buttons=buttons
        )
        return []


class ActionAskReturnReason(OpsAction):
    def name(self) -> str:
        return "action_ask_return_reason"

    async def act(self, dispatcher, tracker, domain) -> list[EventType]:
        buttons = [
            {"title": title, "payload": f'/inform{{"return_reason": "{code}"}}'}
            for code, title in REASONS.items()
        ]
        dispatcher.utter_message(text="What's the reason for the return?", buttons=buttons)
        return []


class ActionAskResolution(OpsAction):
    def name(self) -> str:
        return "action_ask_resolution"

    async def act(self, dispatcher, tracker, domain) -> list[EventType]:
        # The options and their titles are the API's (resolution_options).
        buttons = [
            {"title": o["title"], "payload": f'/inform{{"resolution": "{o["code"]}"}}'}
            for o in tracker.get_slot("return_options") or []
            if isinstance(o, dict) and o.get("available", True)
        ]
        dispatcher.utter_message(
            text="Would you like a refund, an exchange or store credit?", buttons=buttons
        )
        return []


class ActionAskExchangeSku(OpsAction):
    doing = "check stock for the exchange"

    def name(self) -> str:
        return "action_ask_exchange_sku"

    async def act(self, dispatcher, tracker, domain) -> list[EventType]:
        item = (tracker.get_slot("return_items") or [{}])[0]
        choices = await exchange_choices(self.client, tracker, item) if item else []
        buttons = [
            {"title": first_upper(variant_label(v)), "payload": f'/inform{{"sku": "{v["sku"]}"}}'}
            for v in choices[:12]
        ]
        dispatcher.utter_message(
            text=f"Which size or colour of the {item.get('product_name', 'item')} would you "
            f"like instead of {variant_label(item)}? These are in stock:",
            buttons=buttons,
        )
        return []


class ActionAskReturnConfirmed(OpsAction):
    doing = "work out the return"

    def name(self) -> str:
        return "action_ask_return_confirmed"

    async def act(self, dispatcher, tracker, domain) -> list[EventType]:
        items = tracker.get_slot("return_items") or []
        reason = tracker.get_slot("return_reason") or "other"
        resolution = tracker.get_slot("resolution") or "refund"
        number = tracker.get_slot("verified_order")
        answer = await self.client.return_eligibility(
            number,
            [{"sku": i["sku"], "quantity": int(i["quantity"]), "reason": reason} for i in items],
            proof=proof(tracker),
            resolution=resolution,
        )
        target = None
        if resolution == "exchange" and tracker.get_slot("exchange_sku"):
            target = variant_label(
                await self.client.get_inventory(tracker.get_slot("exchange_sku"))
            )
        summary = return_summary(tracker, answer, items, reason, resolution, target)
        dispatcher.utter_message(
            text=summary + "\nShall I book the return?",
            buttons=[
                {"title": "Yes, book it", "payload": "/affirm"},
                {"title": "No", "payload": "/deny"},
            ],
        )
        return [SlotSet("return_summary", summary)]
