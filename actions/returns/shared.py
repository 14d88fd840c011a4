"""What the return modules share: the return form's slots, the customer's proof of the
order, and the variants an item can be exchanged for."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from actions.api_client import NotFound
from actions.common import contact_proof

RETURN_SLOTS = [
    "return_items",
    "return_options",
    "return_reason",
    "resolution",
    "exchange_sku",
    "return_confirmed",
    "return_summary",
]


def codes_of(options: Any) -> list[str]:
    """The open resolution codes of the `return_options` slot (the API's
    resolution_options: every resolution, each open or not and why)."""
    return [
        o["code"] if isinstance(o, dict) else str(o)
        for o in options or []
        if not isinstance(o, dict) or o.get("available", True)
    ]


def why_not(options: Any, code: str) -> str | None:
    """The API's reason a resolution is not open to this return."""
    for o in options or []:
        if isinstance(o, dict) and o.get("code") == code and not o.get("available", True):
            return o.get("why_not")
    return None


def proof(tracker: Tracker) -> dict[str, str]:
    return contact_proof(tracker.get_slot("order_contact") or "")


async def exchange_choices(
    client, tracker: Tracker, item: dict[str, Any], in_stock_only: bool = True
) -> list[dict[str, Any]]:
    """What the item can be exchanged for: the API's answer (`exchange_for` of its
    eligibility, kept on the item). With in_stock_only=False, every other size and colour of
    the style, to recognise one the customer names even when it is sold out."""
    if not in_stock_only:
        try:
            style = await client.get_inventory(item.get("style") or item["sku"].split("-")[0])
        except NotFound:
            return []
        return [v for v in style.get("variants", []) if v.get("sku") != item["sku"]]
    if "exchange_for" in item:
        return list(item["exchange_for"] or [])
    number = tracker.get_slot("verified_order")
    if not number:
        return []
    answer = await client.return_eligibility(
        number, [{"sku": item["sku"], "quantity": int(item["quantity"])}], proof=proof(tracker)
    )
    lines = answer.get("lines") or [{}]
    return list(lines[0].get("exchange_for") or [])
