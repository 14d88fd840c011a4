"""A customer's turn with the assistant, as the hub's worker for a conversation runs it: the
message to Rasa (after the restart a hand-back asked for), the replies stored, then delivered;
the assistant unreachable answered with "briefly unavailable" and a way to a person; and the
restart after a person hands a conversation back, with the assistant's greeting where the
customer is there to read it (not on email: a greeting mail nobody asked for)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from api.hub.messages import NOT_LIVE_CHANNELS
from api.hub.rasa import GREET, RESTART, BotReply, RasaUnavailable
from api.hub.rasa_locks import RasaLocks
from api.hub.replicas import RasaReplicas
from api.hub.store import (
    Turn,
    _answer_with,
    _handoff_without_assistant,
    _reset_done,
    _set_inbound_state,
    _store_outbound,
)
from api.settings import get_settings

log = logging.getLogger("opsdesk.hub")

# The payload of "Talk to a person": the assistant's own intent; when the assistant cannot be
# reached, the hub opens the ticket itself.
HANDOFF_PAYLOAD = "/human_handoff"
UNAVAILABLE_TEXT = (
    "Sorry, our assistant is unavailable for a moment. Your message is saved. "
    "Please try again in a minute, or I can pass you to a person on our team."
)
UNAVAILABLE_BUTTONS = [{"title": "Talk to a person", "payload": HANDOFF_PAYLOAD}]

RunInThread = Callable[..., Awaitable[Any]]
Deliver = Callable[[str, str | None], Awaitable[None]]


def unavailable() -> list[BotReply]:
    return [BotReply(text=UNAVAILABLE_TEXT, buttons=list(UNAVAILABLE_BUTTONS))]


class AssistantTurns:
    """The hub's side of the assistant: `db` runs a store function in a worker thread,
    `deliver(conversation_id, channel)` sends what is pending."""

    def __init__(self, db: RunInThread, deliver: Deliver) -> None:
        self._db = db
        self._deliver = deliver
        self._rasa: RasaReplicas | None = None

    def client(self) -> RasaReplicas:
        if self._rasa is None:
            settings = get_settings()
            urls = settings.rasa_replica_urls()
            self._rasa = RasaReplicas(
                urls,
                settings.rasa_timeout_seconds,
                settings.rasa_token,
                # several Rasa servers share their locks in Redis (api/rasa_profile.py)
                locks=RasaLocks(settings.redis_url)
                if settings.redis_url and len(urls) > 1
                else None,
                concurrency=settings.rasa_concurrency,
            )
        return self._rasa

    def forget_client(self) -> None:
        """A new event loop: the old client's connections belong to the old one."""
        self._rasa = None

    async def close(self) -> None:
        if self._rasa is not None:
            await self._rasa.close()
            self._rasa = None

    async def process(self, turn: Turn) -> None:
        assert turn.message_id is not None
        if turn.mode == "human":
            # A person owns the conversation: the assistant stays silent.
            await self._db(_set_inbound_state, turn.message_id, "queued")
            return
        rasa = self.client()
        metadata = {"channel": turn.channel, "hub_message_id": turn.message_id}
        try:
            if turn.reset_pending:
                await rasa.turn(
                    conversation_id=turn.conversation_id, text=RESTART, metadata=metadata
                )
                await self._db(_reset_done, turn.conversation_id)
            replies = await rasa.turn(
                conversation_id=turn.conversation_id,
                text=turn.text,
                metadata=metadata,
                message_id=turn.message_id,
            )
        except RasaUnavailable as exc:
            log.warning(
                "conversation %s: the assistant is unavailable (%s)", turn.conversation_id, exc
            )
            if turn.text.strip() == HANDOFF_PAYLOAD:
                await self._db(_handoff_without_assistant, turn)
            else:
                await self._db(_answer_with, turn, [], "unanswered", "system", unavailable())
        else:
            await self._db(_answer_with, turn, replies, "answered", "bot", [])
        await self._deliver(turn.conversation_id, turn.channel)

    async def restart_and_greet(self, turn: Turn) -> None:
        """After a hand-back: the assistant starts afresh (no stale form), and greets the
        customer where they are live; on email the next mail simply meets a fresh assistant."""
        rasa = self.client()
        metadata = {"channel": turn.channel}
        greet = turn.channel not in NOT_LIVE_CHANNELS
        try:
            await rasa.turn(conversation_id=turn.conversation_id, text=RESTART, metadata=metadata)
            await self._db(_reset_done, turn.conversation_id)
            if not greet:
                return
            replies = await rasa.turn(
                conversation_id=turn.conversation_id, text=GREET, metadata=metadata
            )
        except RasaUnavailable as exc:
            # The restart is tried again before the customer's next message.
            log.warning(
                "conversation %s: no restart after handback (%s)", turn.conversation_id, exc
            )
            return
        await self._db(_store_outbound, turn.conversation_id, replies, "bot", None)
        await self._deliver(turn.conversation_id, turn.channel)
