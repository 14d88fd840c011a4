"""The Rasa servers behind the hub: each conversation stays on one of them (rendezvous
hashing, so the others keep theirs when one is added or lost), and a turn whose server is
gone is carried on by the next, never lost and never handled twice.

The servers share one tracker store (PostgreSQL) and one lock store (Redis), so any of them
can carry on a conversation with its slots and open form. When the connection to a server
breaks mid-turn, that server may have handled the message before dying: the next server's
copy of the tracker says so (the user event carries the hub's message id in its metadata),
and then its stored replies are the answer instead of a second run. A turn that merely took
too long is not moved: the server may still be running it.

A server that died mid-turn leaves its ticket on the conversation's lock until the ticket
expires: the hub waits for that (api/hub/rasa_locks.py) before the next server runs the turn,
and before any turn of the conversation (its next turn may come through another api process,
or follow an answer found in the tracker).
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any

from api.hub.rasa import CONCURRENCY, BotReply, RasaClient, RasaUnavailable
from api.hub.rasa_locks import RasaLocks

log = logging.getLogger("opsdesk.hub.replicas")

# A server that refused a connection or broke one is tried last for this long.
DOWN_FOR_SECONDS = 5.0


def _weight(conversation_id: str, url: str) -> int:
    digest = hashlib.blake2b(f"{url}|{conversation_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


class RasaReplicas:
    """One RasaClient per server, chosen per conversation."""

    def __init__(
        self,
        urls: list[str],
        timeout: float,
        token: str = "",
        locks: RasaLocks | None = None,
        concurrency: int = CONCURRENCY,
    ) -> None:
        if not urls:
            raise ValueError("no Rasa server configured")
        self.locks = locks
        self.clients = [RasaClient(url, timeout, token, concurrency) for url in urls]
        self._down_until: dict[str, float] = {}

    def order_for(self, conversation_id: str) -> list[RasaClient]:
        """The servers in the order this conversation tries them: its own first (stable),
        then the others; servers that failed a moment ago go last."""
        ranked = sorted(
            self.clients, key=lambda c: _weight(conversation_id, c.base_url), reverse=True
        )
        now = time.monotonic()
        up = [c for c in ranked if self._down_until.get(c.base_url, 0.0) <= now]
        return up + [c for c in ranked if c not in up]

    async def turn(
        self,
        *,
        conversation_id: str,
        text: str,
        metadata: dict[str, Any],
        message_id: int | None = None,
    ) -> list[BotReply]:
        """The turn on the conversation's server; on the next one when it is unreachable or
        broke the connection. `message_id` (the hub's) lets the next server tell whether the
        broken one handled the message already."""
        order = self.order_for(conversation_id)
        if self.locks is not None:
            # A server that died in the conversation's previous turn left its ticket: the
            # turn may have been answered from the tracker, or moved, by another api process.
            await self.locks.wait_until_free(conversation_id)
        maybe_handled = False
        last: RasaUnavailable | None = None
        for client in order:
            try:
                if maybe_handled and message_id is not None:
                    replies = await client.replies_to(conversation_id, message_id)
                    if replies is not None:
                        log.info(
                            "conversation %s: message %s was handled before %s went away",
                            conversation_id,
                            message_id,
                            last,
                        )
                        return replies
                if maybe_handled and self.locks is not None:
                    await self.locks.wait_until_free(conversation_id)
                return await client.turn(
                    conversation_id=conversation_id, text=text, metadata=metadata
                )
            except RasaUnavailable as exc:
                last = exc
                if not (exc.unreached or exc.gone):
                    raise  # too slow or an error: the server may still be running the turn
                self._down_until[client.base_url] = time.monotonic() + DOWN_FOR_SECONDS
                maybe_handled = maybe_handled or exc.gone
                log.warning(
                    "conversation %s: %s failed (%s)", conversation_id, client.base_url, exc
                )
        assert last is not None
        raise last

    async def close(self) -> None:
        for client in self.clients:
            await client.close()
        if self.locks is not None:
            await self.locks.close()
