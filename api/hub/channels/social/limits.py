"""Platform limits: long answers split at natural boundaries, button titles shortened, button
payloads that are too long for a platform replaced by a short token."""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Callable

Measure = Callable[[str], int]


def chars(text: str) -> int:
    return len(text)


def utf8_bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def utf16_units(text: str) -> int:
    """Telegram counts message length in UTF-16 code units (an emoji outside the BMP is two)."""
    return len(text.encode("utf-16-le")) // 2


# Where a long answer may be cut, best first: a blank line, a line break, the end of a sentence,
# any space. A boundary is used only if it keeps at least half the room filled.
_BOUNDARIES = (
    re.compile(r"(?P<gap>\n\s*\n)"),
    re.compile(r"(?P<gap>\n)"),
    re.compile(r"[.!?…][\"'”’)\]]*(?P<gap>\s+)"),
    re.compile(r"(?P<gap>\s+)"),
)


def _longest_prefix(text: str, limit: int, measure: Measure) -> int:
    """The largest n such that measure(text[:n]) <= limit (measure grows with n)."""
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if measure(text[:mid]) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return lo


def split_text(text: str, limit: int, measure: Measure = chars) -> list[str]:
    """Cut `text` into pieces of at most `limit` (as `measure` counts) at paragraph, line,
    sentence or word boundaries; a single word longer than the limit is cut where it must be."""
    if limit < 1:
        raise ValueError("limit must be positive")
    text = text.strip()
    pieces: list[str] = []
    while text:
        if measure(text) <= limit:
            pieces.append(text)
            break
        room = _longest_prefix(text, limit, measure)
        window = text[: room + 1]  # one more: a boundary right after the room still counts
        cut = 0
        for boundary in _BOUNDARIES:
            gaps = [m.span("gap") for m in boundary.finditer(window)]
            fitting = [(start, end) for start, end in gaps if 0 < start <= room]
            if fitting and fitting[-1][0] >= room // 2:
                cut, rest_from = fitting[-1]
                break
        if cut == 0:
            cut = rest_from = max(room, 1)
        pieces.append(text[:cut].rstrip())
        text = text[rest_from:].lstrip()
    return [p for p in pieces if p]


def fit_title(title: str, limit: int, measure: Measure = chars) -> str:
    """A button title within `limit`, shortened with an ellipsis when it is longer."""
    title = " ".join(title.split())
    if measure(title) <= limit:
        return title
    kept = title[: _longest_prefix(title, limit - measure("…"), measure)].rstrip()
    return kept + "…"


class PayloadTokens:
    """Button payloads longer than a platform allows (Telegram's callback_data is 64 bytes) are
    sent as `btn:<digest>` and mapped back when the customer presses the button. The map is
    bounded and lives in this process: after a restart an unknown token is answered with the
    button's title instead, which the platforms send along with the press."""

    PREFIX = "btn:"

    def __init__(self, max_entries: int = 20_000) -> None:
        self._payloads: OrderedDict[str, str] = OrderedDict()
        self._max_entries = max_entries

    def encode(self, payload: str, max_bytes: int) -> str:
        if utf8_bytes(payload) <= max_bytes and not payload.startswith(self.PREFIX):
            return payload
        token = self.PREFIX + hashlib.sha256(payload.encode()).hexdigest()[:24]
        self._payloads[token] = payload
        self._payloads.move_to_end(token)
        while len(self._payloads) > self._max_entries:
            self._payloads.popitem(last=False)
        return token

    def decode(self, value: str) -> str | None:
        """The payload a button carried, or None for a token this process no longer knows."""
        if not value.startswith(self.PREFIX):
            return value
        return self._payloads.get(value)


# One map for all social channels of this process.
payload_tokens = PayloadTokens()
