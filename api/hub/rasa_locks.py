"""Rasa's conversation locks in Redis, as the hub needs to read them when a Rasa server dies
in the middle of a turn.

Each Rasa server takes a ticket on the conversation's lock (`<prefix>:lock:<conversation>`,
a JSON list of tickets with their expiry) before it runs a turn, and waits while an earlier
ticket is alive. A server killed mid-turn leaves its ticket until it expires
(`LOCK_LIFETIME_SECONDS`). Handing the turn to the next server at once goes wrong in Rasa
3.6: its own ticket, taken a moment after the dead one, expires a moment after it too, and a
waiter whose ticket has expired waits forever (`TicketLock.now_serving` becomes 0, which
is never its number). So the hub waits for the dead server's ticket to expire, then sends
the turn, and the next server takes the lock at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

from api.hub.redis_client import redis_client
from api.rasa_profile import LOCK_KEY_PREFIX, LOCK_LIFETIME_SECONDS

log = logging.getLogger("opsdesk.hub.rasa_locks")


def lock_key(conversation_id: str) -> str:
    """The key Rasa's RedisLockStore keeps the conversation's tickets under."""
    return f"{LOCK_KEY_PREFIX}:lock:{conversation_id}"


def latest_expiry(serialised: bytes | str | None) -> float | None:
    """The wall-clock time the last ticket of a stored lock expires; None without tickets."""
    if not serialised:
        return None
    try:
        tickets = json.loads(serialised).get("tickets") or []
        expiries = [float(json.loads(t)["expires"]) for t in tickets]
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    return max(expiries, default=None)


class RasaLocks:
    """Reads the lock store the Rasa servers share (the Redis of OPSDESK_REDIS_URL)."""

    def __init__(self, redis_url: str, max_wait: float = LOCK_LIFETIME_SECONDS + 1.0) -> None:
        self.redis = redis_client(redis_url)
        self.max_wait = max_wait

    async def wait_until_free(self, conversation_id: str) -> float:
        """Wait until every ticket on the conversation has expired (at most `max_wait`);
        the seconds waited. A lock store that cannot be read is not waited for."""
        try:
            expires = latest_expiry(await self.redis.get(lock_key(conversation_id)))
        except Exception:  # noqa: BLE001 - the next server's own wait still applies
            log.warning("conversation %s: Rasa's lock store is not readable", conversation_id)
            return 0.0
        if expires is None:
            return 0.0
        wait = min(max(expires - time.time() + 0.05, 0.0), self.max_wait)
        if wait:
            log.info(
                "conversation %s: waiting %.1f s for a dead server's lock", conversation_id, wait
            )
            await asyncio.sleep(wait)
        return wait

    async def close(self) -> None:
        await self.redis.aclose()
