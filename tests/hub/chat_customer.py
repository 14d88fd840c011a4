"""A website visitor speaking Rasa's socket.io protocol (as the chat widgets do) to the hub."""

from __future__ import annotations

import asyncio
from typing import Any

import socketio


class ChatCustomer:
    """A website visitor speaking Rasa's socket.io protocol to the hub."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.sio = socketio.AsyncClient(reconnection=False)
        self.session_id: str | None = None
        self.received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._confirmed: asyncio.Future[str] | None = None

        @self.sio.on("session_confirm")
        async def _confirm(session_id: Any) -> None:
            if self._confirmed is not None and not self._confirmed.done():
                self._confirmed.set_result(session_id)

        @self.sio.on("bot_uttered")
        async def _uttered(event: dict[str, Any]) -> None:
            await self.received.put(event)

    async def connect(self, session_id: str | None = None) -> str:
        await self.sio.connect(self.base_url, transports=["websocket"], socketio_path="socket.io")
        return await self.request_session(session_id)

    async def request_session(self, session_id: str | None = None) -> str:
        self._confirmed = asyncio.get_running_loop().create_future()
        await self.sio.emit("session_request", {"session_id": session_id})
        self.session_id = await asyncio.wait_for(self._confirmed, 10)
        return self.session_id

    async def say(self, text: str, **extra: Any) -> None:
        await self.sio.emit(
            "user_uttered", {"message": text, "session_id": self.session_id, **extra}
        )

    async def say_and_get_id(self, text: str) -> int:
        """Send, waiting for the hub's acknowledgement: the stored message's id."""
        ack = await self.sio.call(
            "user_uttered", {"message": text, "session_id": self.session_id}, timeout=10
        )
        return int(ack["message_id"])

    async def next(self, timeout: float = 10) -> dict[str, Any]:
        return await asyncio.wait_for(self.received.get(), timeout)

    async def nothing_for(self, seconds: float) -> None:
        try:
            event = await asyncio.wait_for(self.received.get(), seconds)
        except TimeoutError:
            return
        raise AssertionError(f"expected silence, got {event}")

    async def close(self) -> None:
        await self.sio.disconnect()
