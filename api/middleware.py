"""The api's one middleware, plain ASGI (no per-request task group or memory streams, which
Starlette's BaseHTTPMiddleware costs on every request): bound request bodies and write the
access log."""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import errors

MAX_BODY_BYTES = 256 * 1024
access_log = logging.getLogger("opsdesk.access")


class BodyLimitAndAccessLog:
    """413 problem+json for bodies over `max_body_bytes` (by Content-Length, or counted for a
    chunked body, which is then read up front), and one access log line per request: method,
    path (never the query string, which can carry an email address), status, time."""

    def __init__(self, app: ASGIApp, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        length: bytes | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            await self._too_large(scope, receive, send)
            return
        if length is None and chunked:
            buffered = await self._read_bounded(receive)
            if buffered is None:
                await self._too_large(scope, receive, send)
                return
            receive = _replay(buffered, receive)
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "%s %s %s %.1fms",
                    scope["method"],
                    scope["path"],
                    status,
                    (time.perf_counter() - started) * 1000,
                )

    async def _read_bounded(self, receive: Receive) -> bytes | None:
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return bytes(body)
            body += message.get("body", b"")
            if len(body) > self.max_body_bytes:
                return None
            if not message.get("more_body", False):
                return bytes(body)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = errors.problem(
            413,
            "payload_too_large",
            f"Request bodies are limited to {self.max_body_bytes // 1024} KiB",
        )
        await response(scope, receive, send)
        if access_log.isEnabledFor(logging.INFO):
            access_log.info("%s %s 413", scope["method"], scope["path"])


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Any:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
