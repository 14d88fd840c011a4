"""Errors as application/problem+json (RFC 9457) with a machine-readable `code`."""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from functools import lru_cache
from typing import Any

import psycopg
import psycopg_pool
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import metrics

log = logging.getLogger("opsdesk.api")

# Errors that mean the database cannot answer now (down, restarting, out of connections, a
# lock held past the busy timeout), as opposed to a bug: the client may retry.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.TimeoutError,
    psycopg.OperationalError,
    psycopg_pool.PoolTimeout,
    sqlite3.OperationalError,
)

PROBLEM_JSON = "application/problem+json"


class ApiError(Exception):
    """An error a client can act on; rendered as problem+json."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.extra = extra


def json_response(document: Any, status: int = 200) -> Response:
    """A JSON answer from data that is already JSON-ready (skips response-model validation
    on hot paths; the route's response_model still documents the shape)."""
    return Response(
        json.dumps(document, separators=(",", ":"), ensure_ascii=False),
        status_code=status,
        media_type="application/json",
    )


def not_found(what: str, code: str | None = None) -> ApiError:
    return ApiError(404, code or "not_found", f"{what} not found")


def problem(
    status: int, code: str, title: str, detail: str | None = None, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://opsdesk.example/problems/{code.replace('_', '-')}",
        "title": title,
        "status": status,
        "code": code,
    }
    if detail:
        body["detail"] = detail
    body.update(extra)
    headers = {"Retry-After": str(extra["retry_after"])} if "retry_after" in extra else None
    metrics.error_answered(status, code)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Echo the location and message, never the input: it may hold an email or address.
    return [
        {
            "loc": [str(p) for p in err.get("loc", ())],
            "msg": err.get("msg", ""),
            "type": err.get("type"),
        }
        for err in exc.errors()
    ]


def _allowed_methods(request: Request) -> set[str]:
    """Every method the most specific documented path answers, as the OpenAPI document
    lists them (Starlette names only the first route's, and GET and POST on one path are
    two routes)."""
    # As OpenAPI matches paths, a concrete path wins over a templated one: POST
    # /orders/lookup is its own resource, not GET /orders/{order_number}.
    matches: dict[int, set[str]] = {}
    for template, operations in request.app.openapi().get("paths", {}).items():
        if _template_regex(template).fullmatch(request.url.path):
            methods = matches.setdefault(template.count("{"), set())
            methods |= {method.upper() for method in operations}
    return matches[min(matches)] if matches else set()


@lru_cache(maxsize=256)
def _template_regex(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)))


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return problem(exc.status, exc.code, exc.title, exc.detail, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        if any(e["type"] == "json_invalid" for e in errors):
            return problem(400, "malformed_json", "The request body is not valid JSON")
        return problem(422, "validation_error", "The request is not valid", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "http_error")
        response = problem(exc.status_code, code, str(exc.detail))
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:
            response.headers["Allow"] = ", ".join(sorted(_allowed_methods(request)))
        return response

    async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        metrics.database_unreachable()
        # The exception's text can hold the statement's parameters (an email): name only.
        log.warning(
            "database unavailable on %s %s (%s)",
            request.method,
            request.url.path,
            type(exc).__name__,
        )
        return problem(
            503,
            "database_unavailable",
            "The store's records cannot be reached right now",
            "Nothing was changed; please try again in a moment.",
            retry_after=5,
        )

    for unavailable in DATABASE_UNAVAILABLE:
        app.add_exception_handler(unavailable, _database_unavailable)
    # Unexpected errors are answered by api.middleware, which keeps the connection open.
