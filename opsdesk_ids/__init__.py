"""Order numbers, RMA numbers and SKUs: their formats, how to read them from what customers
type, and the bounds the database sets. The one copy of these rules: the API (api/) and the
assistant's actions (actions/, which run in the Rasa environment) both import this module, so
it uses the standard library only and imports nothing from either.

Bounds
    Row ids, order numbers and the sequence of an RMA number are 32-bit integers on
    PostgreSQL: 1 .. MAX_ROW_ID (2**31 - 1). A larger number names no row; it is refused
    here, before any query, so it is "not found" on every database.

Order numbers
    Canonical form: the decimal digits without leading zeros, "10482" (the API keys orders by
    the integer). From a field that holds one order number, every digit counts: "10482",
    "#10482", "A-10482", "order 10 482", "no. 10482" and "010482" are all "10482". Inside a
    sentence (find_order_number) a number counts when it stands alone: four to ten digits, or
    digits in groups of three ("10 482"), optionally after "#" or a letter and a dash (a bare
    three-digit number in a sentence is more often a price than an order). Not taken: a
    number inside a longer word or an email address ("ab10482", "10482@mail.com"), a decimal
    ("3.14159"), and the parts of a phone number joined by dashes or dots ("555-123-4567",
    "555.123.4567"). A five-digit number may be a ZIP code as much as an order number; which
    one it is depends on the conversation, so the assistant decides that.

RMA numbers
    "RMA-" and the return's row id, zero-padded to six digits: "RMA-004512", and
    "RMA-1234567" once there are a million returns. Read from "RMA-004512", "rma 4512",
    "RMA#4512", "rma4512" and a bare "4512". Inside a sentence (find_rma_number) only after
    "RMA", so an order number is never taken for a return number.

Digits
    Any script's decimal digits count and become ASCII ("１０４８２" is "10482"); characters
    that only look like digits, such as "²", do not.

SKUs
    STYLE-COLOUR-SIZE in capitals ("TEE-NAVY-M"), at most SKU_MAX_LENGTH characters; the style
    code alone ("TEE") names a product. Compared after trimming and upper-casing.

Where the API and the assistant had different rules, the rule kept here and why:

- Order number length. The assistant took 3 to 12 digits, the API 1 to 12 digits up to
  2**31 - 1. Kept: 100 .. 2**31 - 1. A number past 2**31 - 1 names no order, so the
  assistant's 11- and 12-digit numbers only cost the customer one of their three attempts at
  verification before a "not found". Below 100: one or two digits in a chat are a quantity, a
  size or a button number far more often than an order number, and taking them for one costs
  the same attempt; the store's numbers start at 10001 (demo and bulk data alike), so the API
  refuses no real order. A store with smaller numbers changes MIN_ORDER_NUMBER, here only.
- Leading zeros. The assistant kept them, so "010482" was not the verified "10482" and was
  looked up again; the API counted failed proofs under the digits as typed, so each added
  zero bought another round of the per-order limit on guesses at the same order. Kept:
  leading zeros are dropped, and every way of writing a number is the same order.
- RMA digits. The assistant took at most 6, the API at most 9. Both refused numbers the store
  gives out (the row id past 999999 makes a 7-digit number, and ids go to 2**31 - 1). Kept:
  any sequence 1 .. 2**31 - 1, with leading zeros ignored.
- RMA inside text. The API joined every digit of its input, so "RMA-004512 for order 10482"
  found no return; the assistant took the number after "RMA". Kept: the number after "RMA"
  when there is one, else every digit.
- Digits of other scripts. The assistant found "１０４８２" and sent it on; the API read only
  ASCII digits, so the customer's order was "not found". Kept: read as digits everywhere.
- SKUs. The assistant upper-cased, the API also trimmed. Kept: trim and upper-case.

Rasa's entity extractor has patterns of its own in data/nlu/regexes.yml (training data, not
code, and narrower: order numbers of 5 to 7 digits, RMA numbers of 4 to 6); what it extracts
is read again with this module before it is used.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "MAX_ROW_ID",
    "MIN_ORDER_NUMBER",
    "MAX_ORDER_NUMBER",
    "MAX_RMA_SEQUENCE",
    "SKU_MAX_LENGTH",
    "ascii_digits",
    "canonical_order_number",
    "canonical_rma_number",
    "canonical_sku",
    "find_order_number",
    "find_rma_number",
    "find_skus",
    "format_rma_number",
    "make_sku",
    "parse_order_number",
    "parse_row_id",
    "style_of",
]

MAX_ROW_ID = 2**31 - 1
MIN_ORDER_NUMBER = 100
MAX_ORDER_NUMBER = MAX_ROW_ID
MAX_RMA_SEQUENCE = MAX_ROW_ID
RMA_PREFIX = "RMA-"
RMA_WIDTH = 6
SKU_MAX_LENGTH = 40

_DIGIT = re.compile(r"\d")  # a decimal digit of any script (Unicode category Nd)
# "#10482", "A-10482", "10 482", "10482"; not part of an email, a decimal, a longer token or
# a dash- or dot-joined phone number.
_ORDER_IN_TEXT = re.compile(r"(?<![\w@.-])(?:#|[A-Za-z]-)?(\d{1,3}(?: \d{3})+|\d{4,10})(?![\w@])")
_RMA_IN_TEXT = re.compile(r"\bRMA[\s#:-]*(\d+)\b", re.IGNORECASE)
_SKU_IN_TEXT = re.compile(r"\b[A-Z]{2,4}-[A-Z0-9]{2,12}-[A-Z0-9]{1,4}\b")


def ascii_digits(text: str) -> str:
    """Every decimal digit in `text`, in order, as ASCII: "#10 482" and "#１０ ４８２" give
    "10482". Signs that are not decimal digits ("²", "½") are left out."""
    return "".join(str(unicodedata.decimal(c)) for c in _DIGIT.findall(text))


def _bounded(digits: str, low: int, high: int) -> int | None:
    """The value of ASCII `digits` if it lies in low .. high, else None. Long inputs are
    refused by their length before any conversion."""
    significant = digits.lstrip("0")
    if not digits or len(significant) > len(str(high)):
        return None
    value = int(significant or "0")
    return value if low <= value <= high else None


def parse_row_id(text: str) -> int | None:
    """A row id written in ASCII digits (as in a form field or a path), 1 .. MAX_ROW_ID;
    None for anything else, so it never reaches the database as an out-of-range integer."""
    if not (text.isascii() and text.isdigit()):
        return None
    return _bounded(text, 1, MAX_ROW_ID)


# ------------------------------------------------------------------- order numbers
def parse_order_number(value: object) -> int | None:
    """The order number as stored, from a field holding one, in any of the ways customers
    write it; None when it cannot name an order."""
    if value is None or isinstance(value, bool):
        return None
    return _bounded(ascii_digits(str(value)), MIN_ORDER_NUMBER, MAX_ORDER_NUMBER)


def canonical_order_number(value: object) -> str | None:
    """As parse_order_number, in the canonical text form: "#010 482" -> "10482"."""
    number = parse_order_number(value)
    return None if number is None else str(number)


def find_order_number(text: str | None) -> str | None:
    """The order number in a customer's sentence, canonical: "where is A-10482?" -> "10482".
    Only the first number that looks like one is considered."""
    match = _ORDER_IN_TEXT.search(text or "")
    return canonical_order_number(match.group(1)) if match else None


# -------------------------------------------------------------------- RMA numbers
def format_rma_number(sequence: int) -> str:
    """The RMA number of a return's row id: 4512 -> "RMA-004512"."""
    return f"{RMA_PREFIX}{sequence:0{RMA_WIDTH}d}"


def canonical_rma_number(value: object) -> str | None:
    """ "RMA-004512", "rma 4512", "RMA#4512" and "4512" -> "RMA-004512"; the number after
    "RMA" when the text has one, else all its digits. None when it cannot name a return."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value)
    match = _RMA_IN_TEXT.search(text)
    sequence = _bounded(ascii_digits(match.group(1) if match else text), 1, MAX_RMA_SEQUENCE)
    return None if sequence is None else format_rma_number(sequence)


def find_rma_number(text: str | None) -> str | None:
    """The RMA number in a customer's sentence, canonical; only a number after "RMA"."""
    match = _RMA_IN_TEXT.search(text or "")
    return canonical_rma_number(match.group(0)) if match else None


# --------------------------------------------------------------------------- SKUs
def canonical_sku(value: object) -> str:
    """A SKU or style code as stored: " tee-navy-m" -> "TEE-NAVY-M"."""
    return str(value).strip().upper()


def make_sku(style: str, colour: str, size: str) -> str:
    """The SKU of a variant: ("TEE", "Navy Blue", "m") -> "TEE-NAVYBLUE-M"."""
    return canonical_sku(f"{style}-{colour.replace(' ', '')}-{size}")


def style_of(sku: str) -> str:
    """The style code of a SKU (a style code is its own): "TEE-NAVY-M" -> "TEE"."""
    return canonical_sku(sku).split("-")[0]


def find_skus(text: str) -> list[str]:
    """The SKUs named in a message, canonical, each once, in order of appearance."""
    found: list[str] = []
    for sku in _SKU_IN_TEXT.findall(text.upper()):
        if sku not in found:
            found.append(sku)
    return found
