"""Repairing the order number the NLU read from the customer's latest message: a return
number's digits taken for an order number, or an order number and a ZIP code in one
message. Used by every form that verifies an order (actions/verification.py)."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet

from actions.common import find_email, find_postal_code, latest_text
from actions.history import value_before_latest_message
from opsdesk_ids import canonical_order_number, canonical_rma_number, find_rma_number


def undo_misread_order_number(tracker: Tracker) -> list[EventType]:
    """ "RMA-000005": the NLU may also take the return number's digits for an order
    number; put back the order number the conversation had."""
    rma = find_rma_number(latest_text(tracker))
    if rma and canonical_rma_number(tracker.get_slot("order_number")) == rma:
        return [SlotSet("order_number", value_before_latest_message(tracker, "order_number"))]
    return []


def sort_out_numbers(tracker: Tracker) -> list[EventType]:
    """ "order 10003, 94110": Rasa fills the slot with the last number; the order number
    is the first, and a bare number after it is the ZIP code the customer added."""
    spans = sorted(
        (
            e
            for e in tracker.latest_message.get("entities") or []
            if e.get("entity") == "order_number"
        ),
        key=lambda e: e.get("start") or 0,
    )
    seen: list[dict[str, Any]] = []
    for entity in spans:
        if canonical_order_number(entity.get("value")) not in [
            canonical_order_number(e.get("value")) for e in seen
        ]:
            seen.append(entity)
    if len(seen) < 2:
        return []
    first, second = seen[0], seen[1]
    events: list[EventType] = [SlotSet("order_number", canonical_order_number(first.get("value")))]
    text = latest_text(tracker)
    between = text[first.get("end") or 0 : second.get("start") or 0].lower()
    postal = find_postal_code(str(second.get("value")))
    if postal and not re.search(r"order|#|and|or", between) and not find_email(text):
        events.append(SlotSet("order_contact", postal))
    return events
