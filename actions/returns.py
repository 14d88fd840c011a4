"""Returns: the return form (items -> reason -> resolution -> summary -> confirm -> RMA)
and the status of a return already started."""

from __future__ import annotations

import hashlib
import logging
import os
import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT
from rasa_sdk.types import DomainDict

from actions.api_client import ApiError, Conflict, NotEligible, NotFound, api_base_url
from actions.common import (
    OpsAction,
    clear_offer,
    contact_proof,
    first_upper,
    join_words,
    latest_entity,
    latest_intent,
    latest_text,
    line_label,
    money,
    nice_date,
    offer_person,
    short_date,
    variant_label,
    verified_order_view,
)
from actions.orders import not_verified
from actions.verification import (
    ORDER_SLOTS,
    VerifiedFormValidation,
    order_slots_known,
    set_this_turn,
)
from opsdesk_ids import canonical_rma_number, canonical_sku, find_rma_number

logger = logging.getLogger(__name__)

REASONS = {
    "size_too_small": "Too small",
    "size_too_large": "Too big",
    "not_as_described": "Not as described",
    "defective": "Faulty or damaged",
    "wrong_item": "Wrong item sent",
    "changed_mind": "Changed my mind",
    "arrived_late": "Arrived too late",
    "other": "Something else",
}
# Checked in this order: "they sent the wrong size" is a wrong item, not a size problem.
_REASON_WORDS = [
    (
        "wrong_item",
        r"wrong (item|size|colou?r|product|one)|not what i ordered|sent (me )?the wrong",
    ),
    (
        "defective",
        r"broke|broken|defect|faulty|damaged|hole|ripped|torn|stain|fell apart|tear|seam",
    ),
    ("size_too_small", r"too small|small|tight|snug|short"),
    ("size_too_large", r"too big|big|large|loose|baggy|long"),
    (
        "not_as_described",
        r"not as described|looks different|different from|not like the (photo|picture)|quality|colou?r is off",
    ),
    ("arrived_late", r"\blate\b|too late|arrived after"),
    ("changed_mind", r"changed? my mind|don'?t (like|want|need)|no longer|not for me"),
]
RESOLUTION_TITLES = {
    "refund": "Refund to my original payment",
    "exchange": "Exchange for another size or colour",
    "store_credit": "Store credit (10% bonus)",
}
RESOLUTION_WORDS = {
    "refund": "a refund to your original payment method",
    "exchange": "an exchange",
    "store_credit": "store credit",
}
_RESOLUTION_RE = [
    ("store_credit", r"credit|voucher|gift card"),
    (
        "exchange",
        r"exchange|swap|switch|replace|different (size|colou?r)|another (size|colou?r)|bigger|smaller",
    ),
    ("refund", r"refund|money back|reimburse|my money"),
]
_ALL_RE = re.compile(r"\b(all|everything|both|whole order|entire order|all of (it|them))\b", re.I)
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "a": 1, "an": 1}
RETURN_SLOTS = [
    "return_items",
    "return_options",
    "return_reason",
    "resolution",
    "exchange_sku",
    "return_confirmed",
    "return_summary",
]


def reason_code(value: Any) -> str | None:
    if not value:
        return None
    text = str(value).strip().lower()
    if text in REASONS:
        return text
    for code, pattern in _REASON_WORDS:
        if re.search(pattern, text):
            return code
    return None


def resolution_code(value: Any) -> str | None:
    if not value:
        return None
    text = str(value).strip().lower().replace(" ", "_")
    if text in RESOLUTION_TITLES:
        return text
    for code, pattern in _RESOLUTION_RE:
        if re.search(pattern, str(value).lower()):
            return code
    return None


def _quantity_in(text: str) -> int | None:
    match = re.search(r"\b(\d{1,2})\b", text)
    if match:
        return int(match.group(1))
    for word, n in _NUMBER_WORDS.items():
        if re.search(rf"\b{word}\b", text, re.I) and word not in ("a", "an"):
            return n
    return None


def _item(line: dict[str, Any], quantity: int) -> dict[str, Any]:
    keep = ("sku", "style", "product_name", "size", "colour", "unit_price")
    return {**{k: line.get(k) for k in keep}, "quantity": quantity}


def _named_lines(
    lines: list[dict[str, Any]], text: str, product: str | None
) -> list[dict[str, Any]]:
    """The order lines whose product name (or SKU) the customer's words name."""
    words = set(re.findall(r"[a-z]{3,}", f"{text} {product or ''}".lower()))
    words -= {"the", "and", "return", "want", "send", "back", "would", "like", "please", "item"}
    hits = []
    for line in lines:
        name_words = set(re.findall(r"[a-z]{3,}", str(line.get("product_name", "")).lower()))
        name_words |= {str(line.get("sku", "")).lower()}
        if words & name_words:
            hits.append(line)
    return hits


def returnable_lines(order: dict[str, Any]) -> list[dict[str, Any]]:
    return [ln for ln in order.get("lines", []) if (ln.get("returnable_quantity") or 0) > 0]


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


def public_url(url: str | None) -> str | None:
    """Label URLs come back relative to the API; customers need an absolute link."""
    if not url or "://" in url:
        return url
    base = os.environ.get("OPSDESK_PUBLIC_URL") or api_base_url()
    return f"{base.rstrip('/')}/{url.lstrip('/')}"


def _proof(tracker: Tracker) -> dict[str, str]:
    return contact_proof(tracker.get_slot("order_contact") or "")


# -------------------------------------------------------------- the form
class ValidateReturnForm(VerifiedFormValidation):
    trigger_intents = {"initiate_return"}

    def name(self) -> str:
        return "validate_return_form"

    def form_slots(self, tracker: Tracker) -> list[str]:
        slots = ORDER_SLOTS + ["return_items", "return_reason", "resolution"]
        if tracker.get_slot("resolution") == "exchange":
            slots.append("exchange_sku")
        return slots + ["return_confirmed"]

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
        if sku == "ALL" or (not sku and _ALL_RE.search(text)):
            chosen = [_item(ln, ln["returnable_quantity"]) for ln in lines]
        elif sku:
            quantity = latest_entity(tracker, "quantity")
            chosen = [
                _item(ln, int(quantity or 1)) for ln in lines if ln["sku"] == canonical_sku(sku)
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
            named = _named_lines(spent, text, latest_entity(tracker, "product"))
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
        hits = _named_lines(lines, text, product)
        if not hits:
            return []
        quantity = _quantity_in(text) or 1
        return [_item(ln, min(quantity, ln["returnable_quantity"])) for ln in hits]

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
            proof=_proof(tracker),
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
        options = [o for o in RESOLUTION_TITLES if all(o in i["options"] for i in items)]
        if len(items) > 1 and "exchange" in options:
            options.remove("exchange")  # an exchange is one item for another
        slots: dict[str, Any] = {"return_items": items, "return_options": options}
        if tracker.get_slot("resolution") and tracker.get_slot("resolution") not in options:
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
        options = tracker.get_slot("return_options") or list(RESOLUTION_TITLES)
        if code not in options:
            allowed = join_words(RESOLUTION_WORDS[o] for o in options)
            extra = (
                " (an exchange works for one item at a time)"
                if code == "exchange" and len(items) > 1
                else ""
            )
            dispatcher.utter_message(text=f"For this return I can offer {allowed}{extra}.")
            return {"resolution": None}
        if code == "exchange":
            choices = await exchange_choices(self.client, items[0])
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
        choices = await exchange_choices(self.client, items[0], in_stock_only=False)
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
        try:
            stock = await self.client.get_inventory(str(value))
        except NotFound:
            stock = {}
        if stock.get("style") != item.get("style") or stock.get("sku") == item["sku"]:
            dispatcher.utter_message(
                text=f"Please pick another size or colour of the {item['product_name']}."
            )
            return {"exchange_sku": None}
        if (stock.get("available") or 0) < int(item["quantity"]):
            when = stock.get("next_restock_date")
            back = f"; it should be back around {short_date(when)}" if when else ""
            dispatcher.utter_message(
                text=f"Sorry, the {item['product_name']} in {variant_label(stock)} is out of "
                f"stock{back}. Please pick another one, or say 'refund' or 'store credit'."
            )
            return {"exchange_sku": None}
        return {"exchange_sku": stock["sku"]}


async def exchange_choices(
    client, item: dict[str, Any], in_stock_only: bool = True
) -> list[dict[str, Any]]:
    """Other variants of the item's style (in stock for the quantity, by default)."""
    try:
        style = await client.get_inventory(item.get("style") or item["sku"].split("-")[0])
    except NotFound:
        return []
    variants = [v for v in style.get("variants", []) if v.get("sku") != item["sku"]]
    if in_stock_only:
        variants = [v for v in variants if (v.get("available") or 0) >= int(item["quantity"])]
    return variants


def pick_variant(
    variants: list[dict[str, Any]],
    item: dict[str, Any],
    size: str | None,
    colour: str | None,
    text: str,
) -> dict[str, Any] | None:
    """The variant the customer named: size and/or colour, the other kept as bought."""
    words = set(re.findall(r"[a-z0-9]+", text.lower()))

    def said(value: str | None, explicit: str | None) -> bool:
        if not value:
            return False
        if explicit:
            return str(explicit).lower() == value.lower()
        return value.lower() in words or value.lower() in text.lower().split(" in ")[-1:]

    size_hits = [v for v in variants if said(v.get("size"), size)]
    colour_hits = [v for v in variants if said(v.get("colour"), colour)]
    if size_hits and colour_hits:
        both = [v for v in size_hits if v in colour_hits]
        return both[0] if both else None
    if size_hits:
        same_colour = [v for v in size_hits if v.get("colour") == item.get("colour")]
        return (same_colour or size_hits)[0]
    if colour_hits:
        same_size = [v for v in colour_hits if v.get("size") == item.get("size")]
        return (same_size or colour_hits)[0]
    return None


# ------------------------------------------------------------ questions
class ActionAskReturnItems(OpsAction):
    doing = "look at your order"

    def name(self) -> str:
        return "action_ask_return_items"

    async def act(self, dispatcher, tracker, domain) -> list[EventType]:
        order = await verified_order_view(tracker, self.client)
        if not order:
            return [SlotSet(REQUESTED_SLOT, None)]
        number, status = order["order_number"], order.get("status")
        stop = [SlotSet(REQUESTED_SLOT, None)]
        if status == "lost":
            return stop + offer_person(
                dispatcher,
                f"Order #{number} was lost in transit, so there's nothing to send back. A person "
                "on our team will arrange a refund or a replacement. Shall I connect you?",
                "lost_order",
            )
        if status not in ("delivered", "returned"):
            dispatcher.utter_message(
                text=f"Order #{number} is {order.get('status_text') or status}, so there's "
                "nothing to return yet. Once it has arrived, I can set up the return. If it "
                "hasn't shipped, you can also cancel it."
            )
            return stop
        lines = returnable_lines(order)
        if not lines:
            dispatcher.utter_message(
                text=f"Everything on order #{number} has already been returned or is in a return."
            )
            return stop
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
        options = tracker.get_slot("return_options") or list(RESOLUTION_TITLES)
        buttons = [
            {"title": RESOLUTION_TITLES[o], "payload": f'/inform{{"resolution": "{o}"}}'}
            for o in options
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
        choices = await exchange_choices(self.client, item) if item else []
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
            proof=_proof(tracker),
            resolution=resolution,
        )
        target = None
        if resolution == "exchange" and tracker.get_slot("exchange_sku"):
            target = variant_label(
                await self.client.get_inventory(tracker.get_slot("exchange_sku"))
            )
        summary = self._summary(tracker, answer, items, reason, resolution, target)
        dispatcher.utter_message(
            text=summary + "\nShall I book the return?",
            buttons=[
                {"title": "Yes, book it", "payload": "/affirm"},
                {"title": "No", "payload": "/deny"},
            ],
        )
        return [SlotSet("return_summary", summary)]

    @staticmethod
    def _summary(tracker, answer, items, reason, resolution, target) -> str:
        lines = [f"Here's your return for order #{tracker.get_slot('verified_order')}:"]
        lines += [f"• {int(i['quantity'])} × {line_label(i)}" for i in items]
        lines.append(f"Reason: {REASONS.get(reason, reason).lower()}.")
        if resolution == "exchange":
            lines.append(
                f"You'll get the same item in {target or 'the size you chose'} "
                "(we ship it once your return is on its way)."
            )
        else:
            lines.append(f"You'll get {RESOLUTION_WORDS.get(resolution, resolution)}.")
        fees = answer.get("fees") or {}
        fee_parts = []
        if float(fees.get("return_shipping") or 0):
            fee_parts.append(f"return shipping {money(fees['return_shipping'])}")
        if float(fees.get("restocking") or 0):
            fee_parts.append(f"restocking {money(fees['restocking'])}")
        lines.append(
            "Fees: "
            + (join_words(fee_parts) + ", deducted from the amount." if fee_parts else "none.")
        )
        if resolution != "exchange" and answer.get("refund_estimate") is not None:
            what = "store credit" if resolution == "store_credit" else "refund"
            lines.append(f"Estimated {what}: {money(answer['refund_estimate'])}.")
        refused = [ln.get("reason") for ln in answer.get("lines", []) if not ln.get("eligible")]
        if refused:
            lines.append("Not included: " + "; ".join(r for r in refused if r) + ".")
        # The label's last day is the deadline to tell: a line's return_by is the end of the
        # return window, which can be later than the label booked today.
        deadlines = [ln.get("return_by") for ln in answer.get("lines", []) if ln.get("return_by")]
        if answer.get("label_valid_until"):
            lines.append(
                "Once it's booked, the prepaid label is valid until "
                f"{nice_date(answer['label_valid_until'])}: please send it back by then."
            )
        elif deadlines:
            lines.append(f"Please send it back by {nice_date(min(deadlines))}.")
        return "\n".join(lines)


# ------------------------------------------------------------ submission
class ActionSubmitReturn(OpsAction):
    doing = "book the return"

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
                proof=_proof(tracker),
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


def describe_new_rma(rma: dict[str, Any]) -> str:
    parts = [f"Done! Your return number is {rma['rma_number']}."]
    label = rma.get("label") or {}
    if label:
        parts.append(
            f"Here's your prepaid {label.get('carrier')} label {label.get('label_number')}: "
            f"{public_url(label.get('url'))}"
        )
    if rma.get("instructions"):
        parts.append(rma["instructions"])
    elif rma.get("return_by"):
        parts.append(f"Please send the items by {nice_date(rma['return_by'])}.")
    if rma.get("resolution") == "exchange":
        parts.append("We'll send your new size or colour as soon as the parcel is on its way.")
    elif rma.get("refund_amount") is not None:
        what = "store credit" if rma.get("resolution") == "store_credit" else "refund"
        parts.append(
            f"Your {what} of {money(rma['refund_amount'])} is issued once we've checked the "
            "items; refunds reach your card 5-10 business days after that."
        )
    return " ".join(parts)


# ---------------------------------------------------------- return status
class ValidateReturnStatusForm(VerifiedFormValidation):
    trigger_intents = {"return_status"}
    helper_slots = ("rma_unknown",)

    def name(self) -> str:
        return "validate_return_status_form"

    def form_slots(self, tracker: Tracker) -> list[str]:
        if tracker.get_slot("rma_number"):
            return ["rma_number"]
        if (
            tracker.get_slot("rma_unknown")
            or tracker.get_slot("order_number")
            or tracker.get_slot("verified_order")
        ):
            return list(ORDER_SLOTS)
        return ["rma_number"]

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


def describe_rma(rma: dict[str, Any], verified_order: str | None) -> str:
    """Status in words; amounts and items only to the customer verified for its order."""
    parts = [f"Return {rma['rma_number']} is {rma.get('status_text') or rma.get('status')}."]
    label = rma.get("label") or {}
    if rma.get("status") == "label_issued" and label:
        parts.append(
            f"Your prepaid {label.get('carrier')} label is here: {public_url(label.get('url'))} "
            f"(please send the parcel by {nice_date(label.get('expires_at'))})."
        )
    if str(rma.get("order_number")) != str(verified_order or ""):
        return " ".join(parts)
    items = join_words(
        f"{ln['quantity']} × {ln.get('product_name', ln['sku'])}" for ln in rma.get("lines", [])
    )
    if items:
        parts.append(f"It covers {items} from order #{rma['order_number']}.")
    amount = rma.get("refund_amount")
    status, resolution = rma.get("status"), rma.get("resolution")
    if status == "refunded":
        parts.append(
            f"{money(amount)} was refunded; it reaches your card within 5-10 business days."
        )
    elif status == "credited":
        parts.append(f"{money(amount)} was added to your store credit.")
    elif resolution in ("refund", "store_credit") and status not in (
        "rejected",
        "cancelled",
        "expired",
        "closed",
    ):
        what = "refund" if resolution == "refund" else "store credit"
        parts.append(
            f"Once we've received and checked the items, your {what} of {money(amount)} is issued."
        )
    return " ".join(parts)


class ActionReturnStatus(OpsAction):
    doing = "check your return"

    def name(self) -> str:
        return "action_return_status"

    async def act(self, dispatcher, tracker, domain) -> list[EventType]:
        events: list[EventType] = [SlotSet("rma_unknown", None)] + clear_offer(tracker)
        verified = tracker.get_slot("verified_order")
        rma_number = canonical_rma_number(tracker.get_slot("rma_number"))
        if rma_number:
            try:
                rma = await self.client.get_return(
                    rma_number, proof=_proof(tracker) if verified else None
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
                rma = await self.client.get_return(ref["rma_number"], proof=_proof(tracker))
            except ApiError as error:
                if isinstance(error, NotFound):
                    continue
                raise
            dispatcher.utter_message(text=describe_rma(rma, number))
        return events
