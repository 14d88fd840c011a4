"""Product questions (knowledge base through the API) and stock availability."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet

from actions.api_client import ApiUnavailable, NotFound, OpsApiClient
from actions.common import (
    OpsAction,
    clear_offer,
    first_upper,
    join_words,
    latest_entity,
    latest_text,
    nice_date,
    offer_person,
    question_text,
)

logger = logging.getLogger(__name__)

_SIZE_WORDS = {
    "extra small": "XS",
    "x-small": "XS",
    "xsmall": "XS",
    "small": "S",
    "medium": "M",
    "med": "M",
    "large": "L",
    "extra large": "XL",
    "x-large": "XL",
    "xlarge": "XL",
    "xx-large": "XXL",
    "xxlarge": "XXL",
    "2xl": "XXL",
    "one size": "OS",
}


async def resolve_product(client: OpsApiClient, tracker: Tracker) -> dict[str, Any] | None:
    """The catalog product the customer means: named now, else the one discussed before."""
    name = latest_entity(tracker, "product") or tracker.get_slot("product")
    if not name:
        return None
    items = await client.search_products(str(name), limit=1)
    return items[0] if items else None


def canonical_size(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip().lower().removeprefix("size ").strip()
    return _SIZE_WORDS.get(text, text.upper())


def _matches_colour(variant_colour: str, asked: str) -> bool:
    return variant_colour.lower() == asked.lower()


def _sizes(variants: list[dict[str, Any]]) -> list[str]:
    seen: list[str] = []
    for v in variants:
        if v.get("size") and v["size"] not in seen:
            seen.append(v["size"])
    return seen


def _colours(variants: list[dict[str, Any]]) -> list[str]:
    seen: list[str] = []
    for v in variants:
        if v.get("colour") and v["colour"] not in seen:
            seen.append(v["colour"])
    return seen


def _restock(variant: dict[str, Any]) -> str:
    when = variant.get("next_restock_date")
    return f"more are expected around {nice_date(when)}" if when else "there's no restock date yet"


class ActionAnswerProductQuestion(OpsAction):
    doing = "look that up"

    def name(self) -> str:
        return "action_answer_product_question"

    async def act(self, dispatcher, tracker, domain) -> list[EventType]:
        product = await resolve_product(self.client, tracker)
        found = await self.client.kb_search(
            question_text(tracker), sku=(product or {}).get("style"), limit=3
        )
        items = found.get("items") or []
        events: list[EventType] = [SlotSet("product", product["name"])] if product else []
        if items and found.get("confident"):
            answer = items[0].get("answer") or items[0].get("title")
            if "returns" in (items[0].get("tags") or []):
                # A policy question about returns is answered, then the return is offered.
                dispatcher.utter_message(
                    text=f"{answer} Would you like to start a return now?",
                    buttons=[{"title": "Start a return", "payload": "/initiate_return"}],
                )
            else:
                dispatcher.utter_message(text=answer)
            return events + clear_offer(tracker)
        if items:
            text = (
                "I'm not sure I have the right answer to that. The closest I found: "
                f"{items[0].get('answer')} If that doesn't answer it, a person on our team "
                "can help. Shall I connect you?"
            )
        else:
            text = (
                "I'm sorry, I don't have a good answer to that. A person on our team can "
                "help. Shall I connect you?"
            )
        return events + offer_person(dispatcher, text, "unanswered_question")


class ActionOutOfScope(OpsAction):
    """A question the assistant has no flow for. The store's help articles are tried first
    (a password or account question is out of scope for the assistant but has an article);
    when none answers it with confidence, the plain "not something I can help with"."""

    def name(self) -> str:
        return "action_out_of_scope"

    async def act(self, dispatcher, tracker, domain) -> list[EventType]:
        question = question_text(tracker)
        try:
            found = await self.client.kb_search(question, limit=1) if question else {}
        except ApiUnavailable:
            found = {}  # the plain answer needs no records
        items = found.get("items") or []
        if found.get("confident") and items and items[0].get("source") == "faq":
            dispatcher.utter_message(text=items[0].get("answer") or items[0].get("title"))
            return []
        dispatcher.utter_message(response="utter_out_of_scope")
        return []


class ActionCheckStock(OpsAction):
    doing = "check stock"

    def name(self) -> str:
        return "action_check_stock"

    async def act(self, dispatcher, tracker, domain) -> list[EventType]:
        # One catalog search of the message itself: it finds a product the NLU didn't pick
        # out ("merino crewnek") and reads the colour and size as the catalog spells them
        # ("medum"). The product's name alone is searched only when the message finds
        # nothing, or for a follow-up about the product discussed before.
        text = latest_text(tracker).strip()
        found = (
            await self.client.search_products(text[:200], limit=1)
            if text and not text.startswith("/")
            else []
        )
        named = latest_entity(tracker, "product")
        match: dict[str, Any] = {}
        named_now = False
        product: dict[str, Any] | None
        if named and found:
            product, match = found[0], found[0].get("match") or {}
        else:
            product = await resolve_product(self.client, tracker)
            if found and (product is None or found[0].get("style") == product.get("style")):
                named_now = product is None
                product = product or found[0]
                match = found[0].get("match") or {}
        if not product:
            text = (
                f'I couldn\'t find "{named}" in our shop. Which item would you like me to check?'
                if named
                else "Which item would you like me to check? For example: the linen shirt in M."
            )
            dispatcher.utter_message(text=text)
            return clear_offer(tracker)
        # Size and colour: said now, else (same product as before) said earlier.
        follow_up = latest_entity(tracker, "product") is None and not named_now
        size = canonical_size(
            latest_entity(tracker, "size")
            or match.get("size")
            or (tracker.get_slot("size") if follow_up else None)
        )
        colour = (
            latest_entity(tracker, "colour")
            or match.get("colour")
            or (tracker.get_slot("colour") if follow_up else None)
        )
        try:
            stock = await self.client.get_inventory(product["style"])
        except NotFound:
            stock = {"variants": []}
        variants = stock.get("variants") or []
        answer = self._answer(product["name"], variants, size, colour)
        dispatcher.utter_message(text=answer)
        events: list[EventType] = [SlotSet("product", product["name"])]
        if follow_up or named_now:
            events += [SlotSet("size", size), SlotSet("colour", colour)]
        return events + clear_offer(tracker)

    @staticmethod
    def _answer(
        name: str, variants: list[dict[str, Any]], size: str | None, colour: str | None
    ) -> str:
        if not variants:
            return f"I couldn't get stock figures for the {name} right now."
        if size and size not in [s.upper() for s in _sizes(variants)]:
            return f"The {name} comes in {join_words(_sizes(variants))}."
        if colour and not any(_matches_colour(v.get("colour", ""), colour) for v in variants):
            return f"The {name} comes in {join_words(_colours(variants))}."
        chosen = [
            v
            for v in variants
            if (not size or str(v.get("size", "")).upper() == size)
            and (not colour or _matches_colour(v.get("colour", ""), colour))
        ]
        in_stock = [v for v in chosen if (v.get("available") or 0) > 0]
        out = [v for v in chosen if (v.get("available") or 0) <= 0]
        if size and colour:
            variant = chosen[0]
            label = f"{variant.get('colour')}, {variant.get('size')}"
            if in_stock:
                few = variant["available"]
                extra = f" (only {few} left)" if few <= 3 else ""
                return f"Yes, the {name} in {label} is in stock{extra}."
            return f"Sorry, the {name} in {label} is out of stock right now; {_restock(variant)}."
        if size:
            if not in_stock:
                soonest = _soonest(out)
                return f"Sorry, the {name} in size {size} is out of stock in every colour; {_restock(soonest)}."
            text = f"The {name} in size {size} is in stock in {join_words(v['colour'] for v in in_stock)}."
            if out:
                text += f" {first_upper(join_words(v['colour'] for v in out))} is out of stock; {_restock(_soonest(out))}."
            return text
        if colour:
            shown = chosen[0].get("colour", colour)
            if not in_stock:
                return f"Sorry, the {name} in {shown} is out of stock in every size; {_restock(_soonest(out))}."
            text = (
                f"The {name} in {shown} is in stock in {join_words(v['size'] for v in in_stock)}."
            )
            if out:
                text += f" Size {join_words(v['size'] for v in out)} is out of stock; {_restock(_soonest(out))}."
            return text
        if not in_stock:
            return f"Sorry, the {name} is out of stock right now; {_restock(_soonest(out))}."
        by_colour = []
        for c in _colours(in_stock):
            sizes = [v["size"] for v in in_stock if v.get("colour") == c and v.get("size")]
            label = f"{c} ({', '.join(sizes)})" if sizes and sizes != ["OS"] else c
            by_colour.append(label)
        return f"The {name} is in stock in {join_words(by_colour)}. Which size and colour are you after?"


def _soonest(variants: list[dict[str, Any]]) -> dict[str, Any]:
    dated = [v for v in variants if v.get("next_restock_date")]
    return (
        min(dated, key=lambda v: str(v["next_restock_date"]))
        if dated
        else (variants[0] if variants else {})
    )
