"""The api's one middleware, plain ASGI (no per-request task group or memory streams, which
Starlette's BaseHTTPMiddleware costs on every request): give each request its id, bound
request bodies, write the access log line and count the request in the metrics."""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import errors, metrics
from api.observability import bind_request_id, mask_emails, new_request_id, sane_request_id

MAX_BODY_BYTES = 256 * 1024
access_log = logging.getLogger("opsdesk.access")


class EdgeMiddleware:
    """Runs outside everything else of the app (see `api.app.OpsDeskApp`), so what it does
    covers every answer, the 500 of Starlette's error middleware included:

    - the request id: the caller's `X-Request-ID` when sane, else a new one; bound to the
      context for every log line of the request and echoed on the response;
    - 413 problem+json for bodies over `max_body_bytes` (by Content-Length, or counted for a
      chunked body, which is then read up front);
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
        request_id: str | None = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"x-request-id":
                request_id = sane_request_id(value)
        request_id = request_id or new_request_id()
        # Not reset at the end: an unhandled error is logged again by the server after this
        # returns, and should carry the id too. Each request runs in a task of its own, so
        # the id does not outlive it.
        bind_request_id(request_id)
        id_header = (b"x-request-id", request_id.encode("ascii"))
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        try:
            if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
                await self._too_large(scope, receive, send_with_id)
                return
            if length is None and chunked:
                buffered = await self._read_bounded(receive)
                if buffered is None:
                    await self._too_large(scope, receive, send_with_id)
                    return
                receive = _replay(buffered, receive)
            await self.app(scope, receive, send_with_id)
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
