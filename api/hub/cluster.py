"""What several api processes share through Redis (OPSDESK_REDIS_URL), so that they act as
one hub:

- a lock per conversation, so that one process at a time works through a conversation's
  messages and one at a time delivers its replies (the order stays the database's);
- which socket.io rooms (the customers' sessions) have a socket connected to any process, so
  that a reply written on one process is emitted (through socket.io's Redis manager) to a
  customer connected to another, and kept pending when nobody is connected anywhere;
- the hub's events for the console (`message`, `delivered`, `typing`, `left`, `back`),
  passed to every process's listeners.

Without Redis the api runs as one process and none of this is used.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

from redis.asyncio.lock import Lock

from api.hub.redis_client import redis_client

log = logging.getLogger("opsdesk.hub.cluster")

PREFIX = "opsdesk:hub"
EVENTS_CHANNEL = f"{PREFIX}:events"
# A lock outlives a process that died holding it by at most this long; a holder extends it
# every LOCK_RENEW_SECONDS while it works.
LOCK_SECONDS = 30.0
LOCK_RENEW_SECONDS = 10.0
LOCK_POLL_SECONDS = 0.02
LOCK_WAIT_NOTE_SECONDS = 60.0
# A process says it is alive every ALIVE_EVERY_SECONDS; its sockets count as connected
# while it does (a process killed outright stops counting ALIVE_SECONDS later).
ALIVE_SECONDS = 15
ALIVE_EVERY_SECONDS = 5.0
ROOM_KEPT_SECONDS = 24 * 3600

RemoteEvent = Callable[[str, str, int | None], Awaitable[None]]


class Cluster:
    """This process's view of the others (one per hub, made at its start)."""

    def __init__(self, redis_url: str) -> None:
        self.redis = redis_client(redis_url)
        self.process_id = uuid.uuid4().hex
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self, on_remote_event: RemoteEvent) -> None:
        try:
            await self._alive()
        except Exception:  # noqa: BLE001 - the api starts while Redis is away; retried
            log.warning("cluster: Redis is not reachable at start", exc_info=True)
        self._tasks = [
            asyncio.ensure_future(self._keep_alive()),
            asyncio.ensure_future(self._relay(on_remote_event)),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.redis.delete(self._alive_key(self.process_id))
        await self.redis.aclose()

    # -- locks ---------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def lock(self, name: str) -> AsyncIterator[None]:
        """Hold `name` across all processes (waiting for it), extended while held. A wait
        longer than LOCK_WAIT_NOTE_SECONDS is logged every so often with the holder's token
        (its process, and when it began to ask for the lock): a holder is expected to be done
        within a Rasa timeout or two."""
        key = f"{PREFIX}:lock:{name}"
        lock = Lock(
            self.redis,
            key,
            timeout=LOCK_SECONDS,
            sleep=LOCK_POLL_SECONDS,
            blocking_timeout=LOCK_WAIT_NOTE_SECONDS,
        )
        token = f"{self.process_id}:{uuid.uuid4().hex[:8]}:since {time.time():.0f}"
        waited = 0.0
        while not await lock.acquire(token=token):
            waited += LOCK_WAIT_NOTE_SECONDS
            holder = await self.redis.get(key)
            log.warning(
                "cluster: waited %.0f s for %s; held by %s (this process is %s, now %.0f)",
                waited,
                name,
                holder.decode() if isinstance(holder, bytes) else holder,
                self.process_id,
                time.time(),
            )
        renew = asyncio.ensure_future(self._renew(lock))
        try:
            yield
        finally:
            renew.cancel()
            await asyncio.gather(renew, return_exceptions=True)
            with contextlib.suppress(Exception):  # expired meanwhile: nothing to release
                await lock.release()

    @staticmethod
    async def _renew(lock: Lock) -> None:
        while True:
            await asyncio.sleep(LOCK_RENEW_SECONDS)
            await lock.reacquire()

    # -- socket.io rooms -----------------------------------------------------------------

    def _room_key(self, room: str) -> str:
        return f"{PREFIX}:room:{room}"

    @staticmethod
    def _alive_key(process_id: str) -> str:
        return f"{PREFIX}:alive:{process_id}"

    async def joined(self, room: str, sid: str) -> None:
        key = self._room_key(room)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.sadd(key, f"{self.process_id}:{sid}")
            pipe.expire(key, ROOM_KEPT_SECONDS)
            await pipe.execute()

    async def left(self, room: str, sid: str) -> None:
        await self.redis.srem(self._room_key(room), f"{self.process_id}:{sid}")

    async def listening(self, room: str) -> bool:
        """Whether a socket of `room` is connected to a live process; forgets the sockets
        of processes that stopped saying they are alive."""
        raw = await self.redis.smembers(self._room_key(room))
        members = [m.decode() if isinstance(m, bytes) else str(m) for m in raw]
        if not members:
            return False
        processes = sorted({m.split(":", 1)[0] for m in members})
        alive = await self.redis.mget([self._alive_key(p) for p in processes])
        living = {p for p, flag in zip(processes, alive, strict=True) if flag is not None}
        dead = [m for m in members if m.split(":", 1)[0] not in living]
        if dead:
            await self.redis.srem(self._room_key(room), *dead)
        return len(dead) < len(members)

    async def _alive(self) -> None:
        await self.redis.set(self._alive_key(self.process_id), "1", ex=ALIVE_SECONDS)

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(ALIVE_EVERY_SECONDS)
            try:
                await self._alive()
            except Exception:  # noqa: BLE001 - Redis away a moment: try again
                log.warning("cluster: could not refresh this process's presence", exc_info=True)

    # -- events for the console ----------------------------------------------------------

    async def publish(self, event: str, conversation_id: str, message_id: int | None) -> None:
        body = {"p": self.process_id, "e": event, "c": conversation_id, "m": message_id}
        try:
            await self.redis.publish(EVENTS_CHANNEL, json.dumps(body))
        except Exception:  # noqa: BLE001 - the console misses one live update at worst
            log.warning("cluster: event %s of %s not shared", event, conversation_id)

    async def _relay(self, on_remote_event: RemoteEvent) -> None:
        """Pass the other processes' events to this one's listeners (reconnecting)."""
        while True:
            try:
                pubsub = self.redis.pubsub()
                await pubsub.subscribe(EVENTS_CHANNEL)
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    body = json.loads(message["data"])
                    if body.get("p") != self.process_id:
                        await on_remote_event(body["e"], body["c"], body.get("m"))
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - Redis away a moment: subscribe again
                log.warning("cluster: event relay interrupted", exc_info=True)
                await asyncio.sleep(1.0)
