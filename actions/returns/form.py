"""The return form's validation: items -> reason -> resolution (-> exchange size or colour)
-> confirm, after the order is verified."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT
from rasa_sdk.types import DomainDict

from actions.api_client import NotFound
from actions.common import (
    join_words,
    latest_entity,
    latest_intent,
    latest_text,
    line_label,
    short_date,
    variant_label,
    verified_order_view,
)
from actions.history import set_this_turn
from actions.returns.parsing import (
    ALL_RE,
    named_lines,
    pick_variant,
    quantity_in,
    reason_code,
    resolution_code,
    return_item,
    returnable_lines,
)
from actions.returns.shared import RETURN_SLOTS, codes_of, exchange_choices, proof, why_not
from actions.returns.wording import RESOLUTION_WORDS
from actions.verification import VerifiedFormValidation, order_slots_known
from opsdesk_ids import canonical_sku


class ValidateReturnForm(VerifiedFormValidation):
    trigger_intents = {"initiate_return"}

    def name(self) -> str:
        return "validate_return_form"

    def skipped_slots(self, tracker: Tracker) -> set[str]:
        return set() if tracker.get_slot("resolution") == "exchange" else {"exchange_sku"}

    async def on_activation(self, dispatcher, tracker) -> list[EventType]:
        events = await super().on_activation(dispatcher, tracker)
        # Left over from an earlier return in this conversation (not said just now).
        stale = [
            s
            for s in RETURN_SLOTS
            if tracker.get_slot(s) is not None and not set_this_turn(tracker, s)
        ]
        return events + [SlotSet(s, None) for s in stale]

    # ------------------------------------------------------------ items
    async def extract_return_items(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot(REQUESTED_SLOT) != "return_items" or not order_slots_known(tracker):
            return {}
        text = latest_text(tracker)
        sku = latest_entity(tracker, "sku")
        if not sku and not self.answers(tracker):
            return {}  # an interruption: let the rules answer it
        order = await verified_order_view(tracker, self.client) or {}
        lines = returnable_lines(order)
        chosen: list[dict[str, Any]] = []
        if sku == "ALL" or (not sku and ALL_RE.search(text)):
            chosen = [return_item(ln, ln["returnable_quantity"]) for ln in lines]
        elif sku:
            quantity = latest_entity(tracker, "quantity")
            chosen = [
                return_item(ln, int(quantity or 1))
                for ln in lines
                if ln["sku"] == canonical_sku(sku)
            ]
        else:
            chosen = self._match_text(lines, text, latest_entity(tracker, "product"))
        if chosen:
            return {"return_items": chosen}
        if lines:
            dispatcher.utter_message(text=self._not_offered(order, sku, text, tracker))
        return {"return_items": None}

    def _not_offered(self, order: dict[str, Any], sku: Any, text: str, tracker: Tracker) -> str:
        """Why the item named is not among the buttons: it may already be in a return."""
        spent = [ln for ln in order.get("lines", []) if (ln.get("returnable_quantity") or 0) <= 0]
        if sku:
            named = [ln for ln in spent if ln["sku"] == canonical_sku(sku)]
        else:
            named = named_lines(spent, text, latest_entity(tracker, "product"))
        if not named:
            return "Sorry, I couldn't tell which item you mean. Please pick one of the buttons."
        rmas = [r["rma_number"] for r in order.get("returns", []) if r.get("rma_number")]
        where = f" ({join_words(rmas)})" if rmas else ""
        return (
            f"The {join_words(line_label(ln) for ln in named)} from order "
            f"#{order.get('order_number')} is already in a return{where}; ask me about a return "
            "with its number to see where it is. Is there something else to send back?"
        )

    @staticmethod
    def _match_text(
        lines: list[dict[str, Any]], text: str, product: str | None
    ) -> list[dict[str, Any]]:
        hits = named_lines(lines, text, product)
        if not hits:
            return []
        quantity = quantity_in(text) or 1
        return [return_item(ln, min(quantity, ln["returnable_quantity"])) for ln in hits]

    async def validate_return_items(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if not value:
            return {"return_items": None}
        number = order_slots_known(tracker)
        if number is None:  # the form asks for the order first; nothing to check without it
            return {"return_items": None}
        answer = await self.client.return_eligibility(
            number,
            [{"sku": i["sku"], "quantity": int(i["quantity"])} for i in value],
            proof=proof(tracker),
        )
        verdicts = {ln["sku"]: ln for ln in answer.get("lines", [])}
        items, refused = [], []
        for item in value:
            verdict = verdicts.get(item["sku"], {})
            if verdict.get("eligible"):
                items.append(
                    {
                        **item,
                        "return_by": verdict.get("return_by"),
                        "options": verdict.get("options") or [],
                        "exchange_for": verdict.get("exchange_for") or [],
                    }
                )
            else:
                refused.append(
                    verdict.get("reason") or f"the {item['product_name']} can't be returned"
                )
        for reason in refused:
            dispatcher.utter_message(text=f"Sorry, {reason}.")
        if not items:
            dispatcher.utter_message(
                text="If you think that's wrong, or the item is faulty, a person on our team "
                "can take a look. Shall I connect you?",
                buttons=[
                    {"title": "Talk to a person", "payload": "/human_handoff"},
                    {"title": "No thanks", "payload": "/deny"},
                ],
            )
            return {
                "return_items": None,
                "handoff_offered": True,
                "handoff_reason": "return_not_eligible",
            }
        if refused:
            names = join_words(line_label(i) for i in items)
            dispatcher.utter_message(text=f"I can go ahead with the {names}.")
        # The API says which resolutions are open to these items together, and their titles.
        options = answer.get("resolution_options") or []
        slots: dict[str, Any] = {"return_items": items, "return_options": options}
        if tracker.get_slot("resolution") and tracker.get_slot("resolution") not in codes_of(
            options
        ):
            slots["resolution"] = None
        return slots

    # ----------------------------------------------------------- reason
    async def extract_return_reason(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot(REQUESTED_SLOT) != "return_reason":
            return {}
        if latest_entity(tracker, "return_reason") is not None:
            return {}
        code = reason_code(latest_text(tracker))
        if code:
            return {"return_reason": code}
        if latest_intent(tracker) in ("inform", "nlu_fallback", "initiate_return"):
            return {"return_reason": "other"}
        if self.answers(tracker):
            dispatcher.utter_message(text="Could you tell me why you're sending it back?")
            return {"return_reason": None}
        return {}

    async def validate_return_reason(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:
            return {"return_reason": None}
        return {"return_reason": reason_code(value) or "other"}

    # ------------------------------------------------------- resolution
    async def extract_resolution(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot(REQUESTED_SLOT) != "resolution":
            return {}
        if latest_entity(tracker, "resolution") is not None:
            return {}
        code = resolution_code(latest_text(tracker))
        if code:
            return {"resolution": code}
        if self.answers(tracker):
            dispatcher.utter_message(text="Please choose one of the options below.")
            return {"resolution": None}
        return {}

    async def validate_resolution(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        code = resolution_code(value)
        if value is None or code is None:
            return {"resolution": None}
        items = tracker.get_slot("return_items")
        if not items:
            return {"resolution": code}  # checked once the items are chosen
        options = codes_of(tracker.get_slot("return_options"))
        if code not in options:
            allowed = join_words(RESOLUTION_WORDS[o] for o in options)
            reason = why_not(tracker.get_slot("return_options"), code)
            extra = f" ({reason})" if reason else ""
            dispatcher.utter_message(text=f"For this return I can offer {allowed}{extra}.")
            return {"resolution": None}
        if code == "exchange":
            choices = await exchange_choices(self.client, tracker, items[0])
            if not choices:
                dispatcher.utter_message(
                    text=f"Sorry, there's no other size or colour of the "
                    f"{items[0]['product_name']} in stock to exchange for right now. "
                    "Would you like a refund or store credit instead?"
                )
                return {"resolution": None}
        slots: dict[str, Any] = {"resolution": code}
        if code != "exchange":
            slots["exchange_sku"] = None
        else:
            # "an exchange for a 34": the new size (or colour) came with the answer.
            size, colour = latest_entity(tracker, "size"), latest_entity(tracker, "colour")
            if size or colour:
                match = pick_variant(choices, items[0], size, colour, latest_text(tracker))
                if match:
                    slots["exchange_sku"] = match["sku"]
        return slots

    # --------------------------------------------------------- exchange
    async def extract_exchange_sku(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot(REQUESTED_SLOT) != "exchange_sku":
            return {}
        items = tracker.get_slot("return_items") or []
        sku = latest_entity(tracker, "sku")
        if sku:
            return {"exchange_sku": str(sku).upper()}
        if not items:
            return {}
        choices = await exchange_choices(self.client, tracker, items[0], in_stock_only=False)
        size = latest_entity(tracker, "size")
        colour = latest_entity(tracker, "colour")
        match = pick_variant(choices, items[0], size, colour, latest_text(tracker))
        if match:
            return {"exchange_sku": match["sku"]}
        if self.answers(tracker):
            dispatcher.utter_message(
                text="Which size or colour would you like instead? You can pick one of the buttons."
            )
            return {"exchange_sku": None}
        return {}

    async def validate_exchange_sku(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        items = tracker.get_slot("return_items") or []
        if value is None or not items:
            return {"exchange_sku": None}
        item = items[0]
        targets = await exchange_choices(self.client, tracker, item)
        chosen = str(value).upper()
        if any(t.get("sku") == chosen for t in targets):
            return {"exchange_sku": chosen}
        # Not one the API offers: say why, in the words that fit.
        try:
            stock = await self.client.get_inventory(chosen)
        except NotFound:
            stock = {}
        if stock.get("style") != item.get("style") or stock.get("sku") == item["sku"]:
            dispatcher.utter_message(
                text=f"Please pick another size or colour of the {item['product_name']}."
            )
            return {"exchange_sku": None}
        when = stock.get("next_restock_date")
        back = f"; it should be back around {short_date(when)}" if when else ""
        dispatcher.utter_message(
            text=f"Sorry, the {item['product_name']} in {variant_label(stock)} is out of "
            f"stock{back}. Please pick another one, or say 'refund' or 'store credit'."
        )
        return {"exchange_sku": None}
