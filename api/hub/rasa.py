"""The hub's one client of the Rasa server: a turn over Rasa's REST channel."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from api import metrics

# Sent to Rasa before the first turn after a person hands the conversation back: Rasa's
# built-in `restart` intent runs `action_restart`, which forgets slots and any open form.
RESTART = "/restart"
GREET = "/greet"


# Turns one api process has in flight at one Rasa server: the default of
# OPSDESK_RASA_CONCURRENCY (api/settings.py), for clients made without settings.
CONCURRENCY = 8


class RasaUnavailable(Exception):
    """Rasa did not answer in time, refused the connection, answered with an error, or was
    too busy to take the turn (`busy`: every slot of this process stayed taken).
    `unreached`: the message surely never got to Rasa (the connection was refused);
    `gone`: the server went away in the middle (the connection broke), so it may or may not
    have handled the message, and will handle nothing more of it."""

    def __init__(
        self, reason: str, *, unreached: bool = False, gone: bool = False, busy: bool = False
    ) -> None:
        super().__init__(reason)
        self.unreached = unreached
        self.gone = gone
        self.busy = busy


@dataclass(frozen=True)
class BotReply:
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    image: str | None = None
    custom: dict[str, Any] | None = None


def parse_replies(body: Any) -> list[BotReply]:
    """Rasa's REST answer `[{"recipient_id", "text"?, "buttons"?, "image"?, "custom"?}]`."""
    if not isinstance(body, list):
        raise RasaUnavailable(f"unexpected answer from Rasa: {type(body).__name__}")
    replies = []
    for item in body:
        if not isinstance(item, dict):
            continue
        buttons = [
            {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
            for b in item.get("buttons") or []
            if isinstance(b, dict)
        ]
        custom = item.get("custom")
        replies.append(
            BotReply(
                text=str(item.get("text") or ""),
                buttons=buttons,
                image=item.get("image"),
                custom=custom if isinstance(custom, dict) else None,
            )
        )
    return replies


class RasaClient:
    """POSTs one customer message to `{rasa_url}/webhooks/rest/webhook` with the hub's
    conversation id as the sender; raises RasaUnavailable on any failure."""

    def __init__(
        self, base_url: str, timeout: float, token: str = "", concurrency: int = CONCURRENCY
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # Rasa's HTTP API takes its token as a query parameter; its REST channel ignores it.
        self._params = {"token": token} if token else {}
        # At most `concurrency` requests in flight, each on a kept-alive connection; the
        # rest wait here, in order, up to `timeout`. A Rasa server works through its turns
        # on one core: more at once only slows every one of them down, and past its accept
        # backlog new connections time out (turns answered "unavailable" while Rasa still
        # spends its CPU on turns the hub has given up on).
        self._slots = asyncio.Semaphore(concurrency)
        self._concurrency = concurrency
        self._slot_wait = timeout
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )

    @contextlib.asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        """One of this process's requests in flight to the server (waiting for a free one)."""
        metrics.assistant_turns_waiting.inc()
        try:
            async with asyncio.timeout(self._slot_wait):
                await self._slots.acquire()
        except TimeoutError as exc:
            metrics.assistant_busy.inc()
            raise RasaUnavailable(
                f"busy: {self._concurrency} requests in flight for {self._slot_wait:.0f} s",
                busy=True,
            ) from exc
        finally:
            metrics.assistant_turns_waiting.dec()
        try:
            yield
        finally:
            self._slots.release()

    async def turn(
        self, *, conversation_id: str, text: str, metadata: dict[str, Any]
    ) -> list[BotReply]:
        async with self._slot():
            return await self._turn(conversation_id, text, metadata)

    async def _turn(
        self, conversation_id: str, text: str, metadata: dict[str, Any]
    ) -> list[BotReply]:
        try:
            response = await self._client.post(
                "/webhooks/rest/webhook",
                json={"sender": conversation_id, "message": text, "metadata": metadata},
                params=self._params,
            )
        except httpx.ConnectError as exc:
            raise RasaUnavailable(f"{type(exc).__name__}: {exc}", unreached=True) from exc
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise RasaUnavailable(f"{type(exc).__name__}: {exc}", gone=True) from exc
        except httpx.HTTPError as exc:
            raise RasaUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code != 200:
            raise RasaUnavailable(f"Rasa answered {response.status_code}")
        try:
            return parse_replies(response.json())
        except ValueError as exc:
            raise RasaUnavailable("Rasa's answer is not JSON") from exc

    async def replies_to(self, conversation_id: str, hub_message_id: int) -> list[BotReply] | None:
        """The replies Rasa stored for the customer message the hub sent with
        `hub_message_id`, read from the shared tracker store (HTTP API, token); None when
        no Rasa server handled that message."""
        try:
            async with self._slot():
                response = await self._client.get(
                    f"/conversations/{conversation_id}/tracker", params=self._params
                )
        except httpx.HTTPError as exc:
            raise RasaUnavailable(f"{type(exc).__name__}: {exc}", unreached=True) from exc
        if response.status_code != 200:
            raise RasaUnavailable(f"Rasa answered {response.status_code} for the tracker")
        try:
            events = response.json().get("events") or []
        except (ValueError, AttributeError) as exc:
            raise RasaUnavailable("Rasa's tracker is not JSON") from exc
        return replies_after(events, hub_message_id)

    async def close(self) -> None:
        await self._client.aclose()


def replies_after(events: list[dict[str, Any]], hub_message_id: int) -> list[BotReply] | None:
    """The bot utterances that follow the user event carrying `hub_message_id` in its
    metadata, up to the next user event, in the REST channel's shapes; None without it."""
    found = None
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        metadata = event.get("metadata") or {}
        if event.get("event") == "user" and metadata.get("hub_message_id") == hub_message_id:
            found = index
            break
    if found is None:
        return None
    replies = []
    for event in events[found + 1 :]:
        if event.get("event") == "user":
            break
        if event.get("event") != "bot":
            continue
        data = event.get("data") or {}
        item: dict[str, Any] = {"text": event.get("text")}
        for key in ("buttons", "image", "custom"):
            if data.get(key):
                item[key] = data[key]
        if item.get("text") or len(item) > 1:
            replies.append(item)
    return parse_replies(replies)
