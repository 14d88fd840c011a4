"""The api's one middleware, plain ASGI (no per-request task group or memory streams, which
Starlette's BaseHTTPMiddleware costs on every request): give each request its id, bound
request bodies, refuse NUL characters, answer unexpected errors without dropping the
connection, write the access log line and count the request in the metrics."""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import errors, metrics
from api.observability import bind_request_id, mask_emails, new_request_id, sane_request_id

MAX_BODY_BYTES = 256 * 1024
access_log = logging.getLogger("opsdesk.access")
log = logging.getLogger("opsdesk.api")
# A NUL character: raw, escaped in a JSON string (\u0000 after an even run of backslashes),
# or percent-encoded in a query string or a form.
_NUL = re.compile(rb"\x00|(?<!\\)(?:\\\\)*\\u0000")
_NUL_ENCODED = re.compile(rb"\x00|%00")


class EdgeMiddleware:
    """Around every route, every exception handler and every answer of the app:

    - the request id: the caller's `X-Request-ID` when sane, else a new one; bound to the
      context for every log line of the request and echoed on the response;
    - 413 problem+json for bodies over `max_body_bytes` (by Content-Length, or counted for a
      chunked body), 422 for NUL characters in the path, query or body (read up front);
    - a 500 problem+json for an unexpected error, keeping the connection open;
    - one access log line: method, path (never the query string, which can carry an email
      address), route template, status, duration, request id;
    - the latency histogram by method, route template and status class."""

    def __init__(self, app: ASGIApp, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                bind_request_id(_request_id_of(scope) or new_request_id())
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        length: bytes | None = None
        chunked = False
        form = False
        request_id: str | None = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"content-type" and value.startswith(b"application/x-www-form"):
                form = True
            elif name == b"x-request-id":
                request_id = sane_request_id(value)
        request_id = request_id or new_request_id()
        # Not reset at the end: the server logs an error that escapes this call after it
        # returns, and that line should carry the id too. Each request runs in a task of its
        # own, so the id does not outlive it.
        bind_request_id(request_id)
        id_header = (b"x-request-id", request_id.encode("ascii"))
        status = 500
        started_response = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                status = message["status"]
                started_response = True
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        try:
            if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
                await self._too_large(scope, receive, send_with_id)
                return
            if "\x00" in scope["path"] or _NUL_ENCODED.search(scope["query_string"]):
                await self._nul(scope, receive, send_with_id)
                return
            if chunked or (length is not None and length != b"0"):
                # Read up front (it is bounded, and the route reads it whole anyway): a text
                # with NUL characters is refused here, before any route or database sees it.
                buffered = await self._read_bounded(receive)
                if buffered is None:
                    await self._too_large(scope, receive, send_with_id)
                    return
                if (_NUL_ENCODED if form else _NUL).search(buffered):
                    await self._nul(scope, receive, send_with_id)
                    return
                receive = _replay(buffered, receive)
            try:
                await self.app(scope, receive, send_with_id)
            except Exception:
                # Answered here, not by Starlette's outermost error middleware, which
                # re-raises after its 500 so that the server drops the keep-alive connection
                # under the client's next request.
                log.exception("unhandled error on %s %s", scope["method"], scope["path"])
                if started_response:
                    raise  # half a response is out: only closing the connection can end it
                status = 500
                response = errors.problem(500, "internal_error", "Something went wrong on our side")
                await response(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope)
            metrics.observe_request(scope["method"], route, status, seconds)
            if access_log.isEnabledFor(logging.INFO):
                _write_access_line(scope["method"], scope["path"], route, status, seconds)

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

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = errors.problem(
            413,
            "payload_too_large",
            f"Request bodies are limited to {self.max_body_bytes // 1024} KiB",
        )
        await response(scope, receive, send)


def _write_access_line(method: str, path: str, route: str, status: int, seconds: float) -> None:
    # The record is made here rather than by access_log.info(), which would also walk the
    # stack for the caller's file and line: no access line shows them, every request paid.
    path = mask_emails(path)
    duration_ms = round(seconds * 1000, 3)
    record = access_log.makeRecord(
        access_log.name,
        logging.INFO,
        __file__,
        0,
        "%s %s %s %.1fms",
        (method, path, status, duration_ms),
        None,
        extra={
            "method": method,
            "path": path,
            "route": route,
            "status": status,
            "duration_ms": duration_ms,
        },
    )
    access_log.handle(record)


def route_template(scope: Scope) -> str:
    """The matched route's path template from the app's root (`/api/v1/orders/{order_number}`),
    never a path with its values in it; `metrics.UNMATCHED_ROUTE` when no route matched."""
    route = scope.get("route")
    relative = getattr(route, "path_format", None)
    if not relative:
        return metrics.UNMATCHED_ROUTE
    # The route knows its path below the router that holds it (`/orders/{order_number}`);
    # what the request's path has before that path, filled in, is the routers' prefix.
    params = scope.get("path_params")
    path: str = scope["path"]
    if not params:  # a route without parameters: its template is the path itself
        return path if path.endswith(relative) else relative
    try:
        filled = relative.format(**{name: str(value) for name, value in params.items()})
    except (KeyError, IndexError, ValueError):
        return relative
    return path[: len(path) - len(filled)] + relative if path.endswith(filled) else relative


def _request_id_of(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            return sane_request_id(value)
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Any:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
