"""What open console pages hear about, as server-sent events.

Two sources. The hub tells about every stored and delivered message the moment it happens,
and about the customer typing, leaving and coming back (`Hub.add_listener`; nothing of those
three is stored). One watcher per process reads the tickets changed since its last look a few
times a second, so a ticket opened or changed by any route (the action server's POST and
PATCH /tickets, the hub, another api process, another agent in the console) reaches every
open page within a fraction of a second without each page asking the database.

The queue hears `tickets` (something changed: fetch the rows again). A conversation's page
hears only its own conversation's `message`, `ticket` (its ticket changed: fetch the header
again), `typing`, `left` and `back`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import anyio
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.db import get_sessionmaker, utcnow
from api.ops.tickets.models import Ticket

log = logging.getLogger("opsdesk.console")

WATCH_INTERVAL_SECONDS = 0.2
KEEPALIVE_SECONDS = 15.0
QUEUE_LIMIT = 200
# Changes are read again this far back: a transaction that stamped its change before another's
# can commit after it (PostgreSQL), and must not be missed for that.
LOOKBACK = timedelta(seconds=5)
CHANGES_PER_LOOK = 1000
FIRST_LOOK_MARGIN = timedelta(seconds=2)
# The hub's events that the console passes on, by the name of their server-sent event.
HUB_EVENTS = {
    "message": "message",
    "delivered": "message",
    "typing": "typing",
    "left": "left",
    "back": "back",
}
CONVERSATION_EVENTS = frozenset({"message", "ticket", "typing", "left", "back"})


@dataclass(frozen=True)
class Event:
    kind: str  # tickets | ticket | message | typing | left | back
    conversation_id: str | None = None
    message_id: int | None = None
    ticket_id: int | None = None

    def as_sse(self) -> str:
        data: dict[str, Any] = {"conversation_id": self.conversation_id}
        if self.message_id is not None:
            data["message_id"] = self.message_id
        if self.ticket_id is not None:
            data["ticket_id"] = self.ticket_id
        return f"event: {self.kind}\ndata: {json.dumps(data)}\n\n"


@dataclass(frozen=True)
class Change:
    ticket_id: int
    conversation_id: str | None
    updated_at: datetime


class LiveFeed:
    """Fans events out to every subscribed page (one asyncio.Queue each)."""

    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[Event]] = set()
        self._watcher: asyncio.Task[None] | None = None
        self._looked = False  # the watcher has read the tickets once since it started
        self._since: datetime | None = None  # the newest change read
        self._seen: dict[int, datetime] = {}  # ticket id -> its change already told

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, event: Event) -> None:
        for queue in list(self._subscribers):
            if queue.qsize() < QUEUE_LIMIT:
                queue.put_nowait(event)

    async def on_hub_event(self, event: str, conversation_id: str, message_id: int | None) -> None:
        """The hub's listener: a message stored or delivered; the customer typing, gone
        (`left`) or back."""
        kind = HUB_EVENTS.get(event)
        if kind is not None:
            self.publish(Event(kind, conversation_id, message_id))

    @contextlib.asynccontextmanager
    async def subscription(self) -> AsyncIterator[asyncio.Queue[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue()
        self._subscribers.add(queue)
        self._ensure_watcher()
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)

    def _ensure_watcher(self) -> None:
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.ensure_future(self._watch_tickets())

    async def _watch_tickets(self) -> None:
        """While anyone listens: read the tickets changed since the last look; publish one
        `tickets` for the queues and a `ticket` per changed ticket of a conversation. The
        first look tells only what changed since shortly before the watcher started (while
        the first page to listen was loading)."""
        started = utcnow() - FIRST_LOOK_MARGIN
        while self._subscribers:
            try:
                changes = await anyio.to_thread.run_sync(_changed_tickets, self._since)
            except Exception:  # noqa: BLE001 - the database is briefly away; try again
                log.exception("console: reading the tickets' changes failed")
            else:
                fresh = self.note(changes)
                if not self._looked:
                    fresh = [c for c in fresh if c.updated_at >= started]
                if fresh:
                    self.publish(Event("tickets"))
                    for change in fresh:
                        if change.conversation_id:
                            self.publish(
                                Event("ticket", change.conversation_id, None, change.ticket_id)
                            )
                self._looked = True
                if len(changes) >= CHANGES_PER_LOOK:
                    # A burst larger than one look: the queues were told; carry on from the
                    # newest changes rather than page through the burst.
                    self._since = None
            await asyncio.sleep(WATCH_INTERVAL_SECONDS)
        self._looked = False
        self._since = None
        self._seen.clear()

    def note(self, changes: list[Change]) -> list[Change]:
        """Remember what was read; return the changes not told before."""
        fresh = [c for c in changes if self._seen.get(c.ticket_id) != c.updated_at]
        for change in changes:
            self._seen[change.ticket_id] = change.updated_at
            if self._since is None or change.updated_at > self._since:
                self._since = change.updated_at
        if self._since is not None:
            horizon = self._since - LOOKBACK
            for ticket_id in [t for t, at in self._seen.items() if at < horizon]:
                del self._seen[ticket_id]
        return fresh

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watcher
            self._watcher = None


def _changed_tickets(since: datetime | None) -> list[Change]:
    with get_sessionmaker()() as db:
        return changed_tickets(db, since)


def changed_tickets(db: Session, since: datetime | None) -> list[Change]:
    """The tickets changed from LOOKBACK before `since` on (on the first look: before the
    newest change), oldest change first; a range of the updated_at index."""
    if since is None:
        since = db.scalar(select(func.max(Ticket.updated_at)))
        if since is None:
            return []
    rows = db.execute(
        select(Ticket.id, Ticket.conversation_id, Ticket.updated_at)
        .where(Ticket.updated_at >= since - LOOKBACK)
        .order_by(Ticket.updated_at, Ticket.id)
        .limit(CHANGES_PER_LOOK)
    ).all()
    return [Change(ticket_id, conversation_id, at) for ticket_id, conversation_id, at in rows]


def tickets_fingerprint(db: Session) -> tuple[datetime | None, int | None]:
    """The newest change and the highest id: both indexed, so this reads two index ends."""
    changed = db.scalar(select(func.max(Ticket.updated_at)))
    newest = db.scalar(select(func.max(Ticket.id)))
    return changed, newest


_feed: LiveFeed | None = None


def get_feed() -> LiveFeed:
    global _feed
    if _feed is None:
        _feed = LiveFeed()
    return _feed


async def stream(
    queue: asyncio.Queue[Event], conversation_id: str | None, is_disconnected: Any
) -> AsyncIterator[str]:
    """The text of a server-sent event stream: for the queue (`conversation_id` None) its
    `tickets` events; for a conversation's page the events of that conversation; with a
    comment line now and then so proxies and the browser keep the connection."""
    yield "retry: 1000\n\n"
    while True:
        try:
            event = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
        except TimeoutError:
            if await is_disconnected():
                return
            yield ": keep-alive\n\n"
            continue
        if conversation_id is None:
            if event.kind != "tickets":
                continue
        elif event.kind not in CONVERSATION_EVENTS or event.conversation_id != conversation_id:
            continue
        yield event.as_sse()
