"""The hub: stores every message before anything else happens to it, processes one
conversation's messages one at a time in the order they were stored (different conversations
concurrently), routes them to the assistant or to the person who owns the conversation, and
delivers what goes back through the channel the customer wrote on.

The order of work is kept in the database, not in memory: a conversation's worker takes its
oldest customer message still `received`, and its outbound messages still `pending`, so a
restart resumes where the process stopped and nothing stored is lost.

A turn with the assistant is `turns.py`; the database work `store.py`; what the customer is
doing `activity.py`; several api processes `cluster.py`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any, TypeVar

import anyio

from api.hub.activity import TYPING_EVERY_SECONDS, CustomerActivity
from api.hub.cluster import Cluster
from api.hub.locks import KeyedLocks
from api.hub.messages import ChannelSender, CustomerOffline, DeliveryQueued, InboundMessage
from api.hub.store import (
    Stored,
    _answer_with,
    _mark_deliveries,
    _next_turn,
    _pending_for_delivery,
    _store_inbound,
    _take_pending,
    _unprocessed_conversations,
)
from api.hub.turns import UNAVAILABLE_TEXT, AssistantTurns, unavailable
from api.ops.conversations.models import Message
from api.settings import get_settings

log = logging.getLogger("opsdesk.hub")

# Named here too for the channels and tests that read them from this module.
__all__ = ["TYPING_EVERY_SECONDS", "UNAVAILABLE_TEXT", "Hub", "_store_inbound"]
# Threads the hub's database work may hold at once: the ops API's own routes (which the action
# server calls in the middle of a turn) keep the rest of the pool, and SQLite takes one
# writer at a time anyway.
DB_THREADS = 8

# Between api processes only (never passed to listeners): a customer message was processed.
ANSWERED = "answered"
# A conversation's worker stopped by a fault (the database or Redis away) goes again after
# this long, doubling on each failure in a row up to RETRY_MAX_SECONDS: its customer's
# message is stored and must not wait for their next one.
RETRY_FIRST_SECONDS = 1.0
RETRY_MAX_SECONDS = 30.0

Listener = Callable[[str, str, int | None], Awaitable[None]]
T = TypeVar("T")


class Hub:
    """The process's one hub (see `get_hub()`). Channels call `receive` and register a
    `ChannelSender`; the ops API calls `deliver_soon` and `handed_back`."""

    def __init__(self) -> None:
        self._senders: dict[str, ChannelSender] = {}
        self._store_locks = KeyedLocks()  # per (channel, channel_key): ids in arrival order
        self._delivery_locks = KeyedLocks()  # per conversation: one delivery run at a time
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        self._greet: set[str] = set()
        self._waiters: dict[int, list[asyncio.Future[None]]] = {}
        self._listeners: list[Listener] = []
        self._turns = AssistantTurns(self._db, self._deliver_pending)
        # Several api processes (OPSDESK_REDIS_URL): their shared locks, rooms and events.
        self.cluster: Cluster | None = None
        self._waiting: dict[int, str] = {}  # message id -> conversation, of REST waiters
        self._loop: asyncio.AbstractEventLoop | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._db_threads: anyio.CapacityLimiter | None = None
        self._activity = CustomerActivity(self._notify)
        self._failures: dict[str, int] = {}  # conversation -> its worker's failures in a row
        self._retries: dict[str, asyncio.TimerHandle] = {}

    # -- what channels call -------------------------------------------------------------

    def register_sender(self, channel: str, sender: ChannelSender) -> None:
        """Messages to customers of `channel` go out through `sender` from now on."""
        self._senders[channel] = sender

    async def receive(self, message: InboundMessage) -> None:
        """Store and commit the customer's message, then process it in the background, after
        the conversation's earlier messages. A replay of a stored (channel, external_id) is
        neither stored nor processed again."""
        await self.store(message)

    async def store(self, message: InboundMessage) -> Stored:
        """`receive`, telling the caller where the message went."""
        self._bind_loop()
        async with self._store_locks.hold((message.channel, message.channel_key)):
            stored = await self._db(_store_inbound, message)
        if not stored.replayed:
            self._activity.wrote(stored.conversation_id)
            self._kick(stored.conversation_id)
            await self._notify("message", stored.conversation_id, stored.message_id)
        return stored

    async def converse(self, message: InboundMessage, timeout: float) -> tuple[str, list[Message]]:
        """For request/response channels (REST): store the message, wait until it has been
        processed (at most `timeout` s), then hand over every message still pending for the
        customer (the bot's replies, and an agent's replies written since the last request),
        marked sent. Returns the conversation id and those messages."""
        self._bind_loop()
        async with self._store_locks.hold((message.channel, message.channel_key)):
            stored = await self._db(_store_inbound, message)
            done = self._loop_or_raise().create_future()
            self._waiters.setdefault(stored.message_id, []).append(done)
            self._waiting[stored.message_id] = stored.conversation_id
        if stored.replayed:
            self._resolve(stored.message_id)
        else:
            self._kick(stored.conversation_id)
            await self._notify("message", stored.conversation_id, stored.message_id)
        try:
            await asyncio.wait_for(asyncio.shield(done), timeout)
        except TimeoutError:
            log.warning(
                "conversation %s: reply not ready after %.0f s", stored.conversation_id, timeout
            )
        finally:
            waiters = self._waiters.get(stored.message_id, [])
            if done in waiters:
                waiters.remove(done)
                if not waiters:
                    self._waiters.pop(stored.message_id, None)
                    self._waiting.pop(stored.message_id, None)
        replies = await self._db(_take_pending, stored.conversation_id, stored.message_id)
        return stored.conversation_id, replies

    # -- what the ops API calls ---------------------------------------------------------

    def deliver_soon(self, conversation_id: str) -> None:
        """Deliver the conversation's pending outbound messages (an agent's reply). Safe to
        call from any thread."""
        self._call_in_loop(self._spawn_delivery, conversation_id)

    def handed_back(self, conversation_id: str) -> None:
        """A person handed the conversation back: the assistant restarts and greets the
        customer again. Safe to call from any thread."""
        self._call_in_loop(self._greet_and_kick, conversation_id)

    def add_listener(self, listener: Listener) -> None:
        """`await listener(event, conversation_id, message_id)` after each stored message
        (event `message`) and delivery (event `delivered`), and when the customer is typing,
        has left or is back (`typing`, `left`, `back`, message_id None): the console's live
        view."""
        self._listeners.append(listener)

    async def customer_activity(self, conversation_id: str, activity: str) -> bool:
        """A channel saw the customer typing, leaving or coming back: tell the listeners,
        store nothing. `typing` is passed on at most once per TYPING_EVERY_SECONDS per
        conversation, `back` only after a `left`; returns whether it was passed on."""
        return await self._activity.seen(conversation_id, activity)

    def customer_gone(self, conversation_id: str) -> bool:
        """Whether the customer's channel said they left and nothing since says they are back
        (on any api process, when they share Redis)."""
        return self._activity.gone(conversation_id)

    # -- life cycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Bind to the running loop and resume, in the background, conversations with
        messages left unprocessed (the api starts even while the database is down)."""
        self._bind_loop()
        redis_url = get_settings().redis_url
        if redis_url and self.cluster is None:
            self.cluster = Cluster(redis_url)
            await self.cluster.start(self._remote_event)
        self._spawn(self._resume())

    async def _resume(self) -> None:
        try:
            unprocessed = await self._db(_unprocessed_conversations)
        except Exception:  # noqa: BLE001 - resumed by the conversations' next messages
            log.exception("hub: messages left unprocessed could not be read at start")
            return
        for conversation_id in unprocessed:
            self._kick(conversation_id)

    async def stop(self) -> None:
        for handle in self._retries.values():
            handle.cancel()
        self._retries.clear()
        for task in list(self._workers.values()) + list(self._background):
            task.cancel()
        await asyncio.gather(*self._workers.values(), *self._background, return_exceptions=True)
        await self._turns.close()
        if self.cluster is not None:
            await self.cluster.stop()
            self.cluster = None
        self._loop = None

    async def idle(self) -> None:
        """Wait until no conversation has work in progress (tests, shutdown)."""
        while self._workers or self._background:
            await asyncio.gather(*self._workers.values(), *self._background, return_exceptions=True)

    # -- inside -------------------------------------------------------------------------

    def _bind_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop = loop
            self._workers.clear()
            self._background.clear()
            self._retries.clear()
            self._failures.clear()
            self._turns.forget_client()
            self._db_threads = anyio.CapacityLimiter(DB_THREADS)

    async def _db(self, fn: Callable[..., T], *args: Any) -> T:
        """Run one of the database functions below in a worker thread."""
        if self._db_threads is None:
            self._db_threads = anyio.CapacityLimiter(DB_THREADS)
        return await anyio.to_thread.run_sync(fn, *args, limiter=self._db_threads)

    def _loop_or_raise(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("the hub is not started (no event loop)")
        return self._loop

    def _call_in_loop(self, fn: Callable[[str], None], conversation_id: str) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            log.warning(
                "hub not running; %s for %s left to the next start", fn.__name__, conversation_id
            )
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            fn(conversation_id)
        else:
            loop.call_soon_threadsafe(fn, conversation_id)

    def _shared(self, name: str) -> AbstractAsyncContextManager[None]:
        """Held across api processes when there are several (Redis); else nothing to hold:
        this process's own locks and its one worker per conversation suffice."""
        return self.cluster.lock(name) if self.cluster is not None else nullcontext()

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _spawn_delivery(self, conversation_id: str) -> None:
        self._spawn(self._deliver_pending(conversation_id))

    def _greet_and_kick(self, conversation_id: str) -> None:
        self._greet.add(conversation_id)
        self._kick(conversation_id)

    def _kick(self, conversation_id: str) -> None:
        self._again.add(conversation_id)
        if conversation_id not in self._workers:
            self._workers[conversation_id] = asyncio.ensure_future(self._work(conversation_id))

    def _resolve_conversation(self, conversation_id: str) -> None:
        """Nothing of the conversation is left unprocessed: wake its REST requests (their
        message may have been answered by another api process)."""
        for message_id, owner in list(self._waiting.items()):
            if owner == conversation_id:
                self._resolve(message_id)

    def _resolve(self, message_id: int) -> None:
        self._waiting.pop(message_id, None)
        for future in self._waiters.pop(message_id, []):
            if not future.done():
                future.set_result(None)

    async def _notify(self, event: str, conversation_id: str, message_id: int | None) -> None:
        await self._notify_here(event, conversation_id, message_id)
        if self.cluster is not None:
            await self.cluster.publish(event, conversation_id, message_id)

    async def _remote_event(self, event: str, conversation_id: str, message_id: int | None) -> None:
        """Another api process's event: the customer left or came back there, or a message
        was stored or delivered there; this process's listeners hear it too. `answered`
        (a message processed there) wakes the REST request waiting for it here."""
        if event == ANSWERED:
            if message_id is not None:
                self._resolve(message_id)
            return
        self._activity.heard_elsewhere(event, conversation_id)
        await self._notify_here(event, conversation_id, message_id)

    async def _notify_here(self, event: str, conversation_id: str, message_id: int | None) -> None:
        for listener in self._listeners:
            try:
                await listener(event, conversation_id, message_id)
            except Exception:  # noqa: BLE001 - a listener never stops the hub
                log.exception("hub listener failed")

    async def _work(self, conversation_id: str) -> None:
        """The conversation's one worker: turns strictly one after another."""
        try:
            # One process at a time works through a conversation (it may be another api
            # process's turn now: this one then finds the messages answered).
            async with self._shared(f"work:{conversation_id}"):
                while conversation_id in self._again:
                    self._again.discard(conversation_id)
                    while True:
                        turn = await self._db(_next_turn, conversation_id)
                        if turn is None:
                            break
                        if turn.message_id is None:
                            # No customer message waiting: greet if a person just handed back.
                            if conversation_id in self._greet and turn.mode == "bot":
                                self._greet.discard(conversation_id)
                                if turn.reset_pending:
                                    await self._turns.restart_and_greet(turn)
                            break
                        try:
                            await self._turns.process(turn)
                        except Exception:  # noqa: BLE001 - never lose the rest of the queue
                            log.exception(
                                "conversation %s: message %s failed",
                                conversation_id,
                                turn.message_id,
                            )
                            await self._db(
                                _answer_with, turn, [], "unanswered", "system", unavailable()
                            )
                            await self._deliver_pending(conversation_id)
                        finally:
                            self._resolve(turn.message_id)
                            if self.cluster is not None:  # a REST request may wait elsewhere
                                await self.cluster.publish(
                                    ANSWERED, conversation_id, turn.message_id
                                )
                self._resolve_conversation(conversation_id)
            self._failures.pop(conversation_id, None)
        except Exception:  # noqa: BLE001 - the database or Redis failed: go again soon
            delay = self._retry_later(conversation_id)
            log.exception(
                "conversation %s: worker stopped; going again in %.0f s", conversation_id, delay
            )
        finally:
            self._workers.pop(conversation_id, None)
            if conversation_id in self._again:
                # Kicked while the shared lock was being released: go round again.
                self._kick(conversation_id)
            else:
                self._greet.discard(conversation_id)

    def _retry_later(self, conversation_id: str) -> float:
        """Kick the conversation again after a delay that grows with its failures in a row."""
        failures = self._failures.get(conversation_id, 0) + 1
        self._failures[conversation_id] = failures
        delay = min(RETRY_FIRST_SECONDS * 2 ** (failures - 1), RETRY_MAX_SECONDS)
        if conversation_id not in self._retries:
            loop = self._loop_or_raise()
            self._retries[conversation_id] = loop.call_later(delay, self._retry, conversation_id)
        return delay

    def _retry(self, conversation_id: str) -> None:
        self._retries.pop(conversation_id, None)
        self._kick(conversation_id)

    async def _deliver_pending(self, conversation_id: str, channel: str | None = None) -> None:
        """Send the conversation's pending messages in order through its channel's sender;
        without a sender (REST) they wait for the customer's next request. The outcomes are
        written in one transaction after the run (a crash in between sends them again)."""
        if channel is not None and channel not in self._senders:
            return
        async with (
            self._delivery_locks.hold(conversation_id),
            self._shared(f"deliver:{conversation_id}"),
        ):
            stored_channel, pending = await self._db(_pending_for_delivery, conversation_id)
            sender = self._senders.get(stored_channel)
            if sender is None:
                return
            outcomes: list[tuple[int, str, str | None]] = []
            try:
                for outbound in pending:
                    try:
                        await sender.deliver(outbound)
                    except DeliveryQueued:
                        continue  # in the channel's outbox, which records the outcome
                    except CustomerOffline:
                        break  # kept pending; delivered when the customer is back
                    except Exception as exc:  # noqa: BLE001 - recorded on the message
                        log.warning(
                            "conversation %s: delivery of %s failed: %s",
                            conversation_id,
                            outbound.message_id,
                            exc,
                        )
                        outcomes.append((outbound.message_id, "failed", str(exc)[:300]))
                        continue
                    outcomes.append((outbound.message_id, "sent", None))
            finally:
                if outcomes:
                    await self._db(_mark_deliveries, outcomes)
            for message_id, state, _error in outcomes:
                if state == "sent":
                    await self._notify("delivered", conversation_id, message_id)

    async def redeliver(self, conversation_id: str) -> None:
        """Deliver what is still pending (a customer reconnected)."""
        await self._deliver_pending(conversation_id)
