"""Reading the customer's words for a return: the reason, the resolution, which order
lines and how many, and the size or colour asked for in an exchange."""

from __future__ import annotations

import re
from typing import Any

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
# The API's resolution codes. Which are open to a return, and their titles, are the API's
# answer (`resolution_options` of POST /returns/eligibility).
RESOLUTION_CODES = ("refund", "exchange", "store_credit")
_RESOLUTION_RE = [
    ("store_credit", r"credit|voucher|gift card"),
    (
        "exchange",
        r"exchange|swap|switch|replace|different (size|colou?r)|another (size|colou?r)|bigger|smaller",
    ),
    ("refund", r"refund|money back|reimburse|my money"),
]
ALL_RE = re.compile(r"\b(all|everything|both|whole order|entire order|all of (it|them))\b", re.I)
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "a": 1, "an": 1}


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
    if text in RESOLUTION_CODES:
        return text
    for code, pattern in _RESOLUTION_RE:
        if re.search(pattern, str(value).lower()):
            return code
    return None


def quantity_in(text: str) -> int | None:
    match = re.search(r"\b(\d{1,2})\b", text)
    if match:
        return int(match.group(1))
    for word, n in _NUMBER_WORDS.items():
        if re.search(rf"\b{word}\b", text, re.I) and word not in ("a", "an"):
            return n
    return None


def return_item(line: dict[str, Any], quantity: int) -> dict[str, Any]:
    keep = ("sku", "style", "product_name", "size", "colour", "unit_price")
    return {**{k: line.get(k) for k in keep}, "quantity": quantity}


def named_lines(
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
