"""What the customer is doing, as their channel sees it: typing, gone (`left`), `back`.
Passed to the hub's listeners (the console), never stored.

`typing` is passed on at most once per TYPING_EVERY_SECONDS per conversation (per api
process), `back` only after a `left`. With several api processes, the others' `left` and
`back` arrive through Redis (api/hub/cluster.py) and are applied with `heard_elsewhere`, so
every process answers `gone()` alike."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable

ACTIVITIES = ("typing", "left", "back")
TYPING_EVERY_SECONDS = 2.0
TYPING_REMEMBERED = 10_000
GONE_REMEMBERED = 10_000

Notify = Callable[[str, str, int | None], Awaitable[None]]


class CustomerActivity:
    def __init__(self, notify: Notify) -> None:
        self._notify = notify
        self._typing_at: dict[str, float] = {}  # conversation -> when `typing` was last told
        self._gone: OrderedDict[str, None] = OrderedDict()  # conversations whose customer left

    def wrote(self, conversation_id: str) -> None:
        """The customer's message was stored: their next `typing` is news."""
        self._typing_at.pop(conversation_id, None)

    def gone(self, conversation_id: str) -> bool:
        return conversation_id in self._gone

    def _left(self, conversation_id: str) -> None:
        self._gone[conversation_id] = None
        self._gone.move_to_end(conversation_id)
        while len(self._gone) > GONE_REMEMBERED:
            self._gone.popitem(last=False)

    def heard_elsewhere(self, event: str, conversation_id: str) -> None:
        """Another api process passed on `event` of this conversation."""
        if event == "left":
            self._left(conversation_id)
        elif event in ("back", "typing", "message"):
            self._gone.pop(conversation_id, None)

    async def seen(self, conversation_id: str, activity: str) -> bool:
        """Pass `activity` on (unless it is no news); returns whether it was passed on."""
        if activity not in ACTIVITIES:
            raise ValueError(f"unknown activity {activity!r}")
        if activity == "left":
            self._left(conversation_id)
            self._typing_at.pop(conversation_id, None)
        elif activity == "back":
            if conversation_id not in self._gone:
                return False
            del self._gone[conversation_id]
        else:
            now = asyncio.get_running_loop().time()
            last = self._typing_at.get(conversation_id)
            if last is not None and now - last < TYPING_EVERY_SECONDS:
                return False
            if len(self._typing_at) >= TYPING_REMEMBERED:
                self._typing_at = {
                    c: at for c, at in self._typing_at.items() if now - at < TYPING_EVERY_SECONDS
                }
            self._typing_at[conversation_id] = now
            if conversation_id in self._gone:  # typing again: back, without a word about it
                del self._gone[conversation_id]
                await self._notify("back", conversation_id, None)
        await self._notify(activity, conversation_id, None)
        return True
