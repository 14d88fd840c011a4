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


def proof(tracker: Tracker) -> dict[str, str]:
    return contact_proof(tracker.get_slot("order_contact") or "")


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
