"""What open console pages hear about, as server-sent events.

Two sources: the hub tells about every stored and delivered message the moment it happens
(`Hub.add_listener`), and one watcher per process reads the tickets table's newest change a
few times a second, so a ticket opened by any route (the action server's POST /tickets, the
hub, another api process, the console itself) reaches every open queue within a fraction of
a second without each page asking the database."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import anyio
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.db import get_sessionmaker
from api.ops.tickets.models import Ticket

log = logging.getLogger("opsdesk.console")

WATCH_INTERVAL_SECONDS = 0.2
KEEPALIVE_SECONDS = 15.0
QUEUE_LIMIT = 200


@dataclass(frozen=True)
class Event:
    kind: str  # tickets | message
    conversation_id: str | None = None
    message_id: int | None = None

    def as_sse(self) -> str:
        data = {"conversation_id": self.conversation_id, "message_id": self.message_id}
        return f"event: {self.kind}\ndata: {json.dumps(data)}\n\n"


class LiveFeed:
    """Fans events out to every subscribed page (one asyncio.Queue each)."""

    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[Event]] = set()
        self._watcher: asyncio.Task[None] | None = None
        self._last_seen: tuple[Any, ...] | None = None

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, event: Event) -> None:
        for queue in list(self._subscribers):
            if queue.qsize() < QUEUE_LIMIT:
                queue.put_nowait(event)

    async def on_hub_event(self, event: str, conversation_id: str, message_id: int | None) -> None:
        """The hub's listener: a message was stored or delivered."""
        self.publish(Event("message", conversation_id, message_id))

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
        """While anyone listens: publish `tickets` whenever the table's newest change moves."""
        while self._subscribers:
            try:
                seen = await anyio.to_thread.run_sync(_tickets_fingerprint)
            except Exception:  # noqa: BLE001 - the database is briefly away; try again
                log.exception("console: reading the tickets' last change failed")
                seen = None
            if seen is not None and seen != self._last_seen:
                if self._last_seen is not None:
                    self.publish(Event("tickets"))
                self._last_seen = seen
            await asyncio.sleep(WATCH_INTERVAL_SECONDS)
        self._last_seen = None

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watcher
            self._watcher = None


def _tickets_fingerprint() -> tuple[datetime | None, int | None]:
    with get_sessionmaker()() as db:
        return tickets_fingerprint(db)


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
    """The text of a server-sent event stream: `tickets` events, and the `message` events of
    one conversation (none for the queue), with a comment line now and then so proxies and
    the browser keep the connection."""
    yield "retry: 1000\n\n"
    while True:
        try:
            event = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
        except TimeoutError:
            if await is_disconnected():
                return
            yield ": keep-alive\n\n"
            continue
        if event.kind == "message" and event.conversation_id != conversation_id:
            continue  # the queue hears about tickets; a conversation about its own messages
        yield event.as_sse()
