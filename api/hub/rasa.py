"""The hub's one client of the Rasa server: a turn over Rasa's REST channel."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

# Sent to Rasa before the first turn after a person hands the conversation back: Rasa's
# built-in `restart` intent runs `action_restart`, which forgets slots and any open form.
RESTART = "/restart"
GREET = "/greet"


class RasaUnavailable(Exception):
    """Rasa did not answer in time, refused the connection or answered with an error."""


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

    def __init__(self, base_url: str, timeout: float) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        )

    async def turn(
        self, *, conversation_id: str, text: str, metadata: dict[str, Any]
    ) -> list[BotReply]:
        try:
            response = await self._client.post(
                "/webhooks/rest/webhook",
                json={"sender": conversation_id, "message": text, "metadata": metadata},
            )
        except httpx.HTTPError as exc:
            raise RasaUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code != 200:
            raise RasaUnavailable(f"Rasa answered {response.status_code}")
        try:
            return parse_replies(response.json())
        except ValueError as exc:
            raise RasaUnavailable("Rasa's answer is not JSON") from exc

    async def close(self) -> None:
        await self._client.aclose()
