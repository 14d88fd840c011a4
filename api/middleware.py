"""The api's one middleware, plain ASGI (no per-request task group or memory streams, which
Starlette's BaseHTTPMiddleware costs on every request): bound request bodies, refuse NUL
characters, answer unexpected errors without dropping the connection, write the access log."""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import errors

MAX_BODY_BYTES = 256 * 1024
access_log = logging.getLogger("opsdesk.access")
log = logging.getLogger("opsdesk.api")
# A NUL character: raw, escaped in a JSON string (\u0000 after an even run of backslashes),
# or percent-encoded in a query string or a form.
_NUL = re.compile(rb"\x00|(?<!\\)(?:\\\\)*\\u0000")
_NUL_ENCODED = re.compile(rb"\x00|%00")


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
        form = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"content-type" and value.startswith(b"application/x-www-form"):
                form = True
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            await self._too_large(scope, receive, send)
            return
        if "\x00" in scope["path"] or _NUL_ENCODED.search(scope["query_string"]):
            await self._nul(scope, receive, send)
            return
        if chunked or (length is not None and length != b"0"):
            # Read up front (it is bounded, and the route reads it whole anyway): a text
            # with NUL characters is refused here, before any route or database sees it.
            buffered = await self._read_bounded(receive)
            if buffered is None:
                await self._too_large(scope, receive, send)
                return
            if (_NUL_ENCODED if form else _NUL).search(buffered):
                await self._nul(scope, receive, send)
                return
            receive = _replay(buffered, receive)
        status = 500
        started_response = False

        async def send_and_note(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                status = message["status"]
                started_response = True
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        except Exception:
            # Answered here, not by Starlette's outermost error middleware, which re-raises
            # after its 500 so that the server drops the keep-alive connection under the
            # client's next request.
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if started_response:
                raise  # half a response is out: only closing the connection can end it
            status = 500
            response = errors.problem(500, "internal_error", "Something went wrong on our side")
            await response(scope, receive, send)
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

    async def _nul(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = errors.problem(
            422, "nul_character", "Text in the request may not contain NUL characters"
        )
        await response(scope, receive, send)
        if access_log.isEnabledFor(logging.INFO):
            access_log.info("%s %s 422", scope["method"], scope["path"])

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
