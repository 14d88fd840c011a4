"""Request ids and log lines of the api process.

Every request has an id: the caller's `X-Request-ID` when it is a sane token, else a new one.
It is echoed on the response and written on every log line made while the request is
handled (a context variable, so code that logs need not pass it along). Callers that reach
the API on a customer's behalf (the action server, the conversation hub) send the id of the
customer's turn, so one grep finds everything that turn did.

Log lines are one JSON object each (for log shippers) or plain text (for a person at a
terminal): `OPSDESK_LOG_FORMAT=json|text`; by default JSON unless stderr is a terminal.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
import time
from contextvars import ContextVar
from typing import Any

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_MAX_LENGTH = 128
# Letters, digits and a few separators, so an id can go into a log line, a header or a
# query as it is; anything else (spaces, quotes, newlines, '@') gets a fresh id instead.
_SANE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:+/=-]{1,%d}" % REQUEST_ID_MAX_LENGTH)

_request_id: ContextVar[str | None] = ContextVar("opsdesk_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being handled in this context, or None outside a request."""
    return _request_id.get()


def forwarding_headers() -> dict[str, str]:
    """Headers for a call made on behalf of the current request (the hub forwarding a
    message to Rasa, say): its `X-Request-ID`, so the next process logs the same id. Rasa
    does not pass headers on to the actions: put the id in the message's metadata as
    `request_id` too, and the actions send it with their API calls."""
    request_id = _request_id.get()
    return {REQUEST_ID_HEADER: request_id} if request_id else {}


def new_request_id() -> str:
    return secrets.token_hex(16)


def sane_request_id(value: str | bytes | None) -> str | None:
    """`value` when it is a usable request id, else None."""
    if value is None:
        return None
    raw = value.encode("latin-1", "replace") if isinstance(value, str) else value
    return raw.decode("ascii") if _SANE_REQUEST_ID.fullmatch(raw) else None


def bind_request_id(request_id: str) -> None:
    """Make `request_id` the current one for this context (the middleware does this for
    every request; a background job may do it for its own run)."""
    _request_id.set(request_id)


# --------------------------------------------------------------------------------- logging

# A last guard: an email address that reaches a message or a traceback (an exception's text
# can quote a statement's parameters) is masked before the line is written.
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# Attributes every LogRecord has; anything else on a record came from `extra=` and is a field.
# (uvicorn adds `color_message`, a copy of the message for terminals.)
_RECORD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "color_message",
}


def mask_emails(text: str) -> str:
    return _EMAIL.sub("[email]", text) if "@" in text else text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message, request_id, then the
    fields given with `extra=` (the access line's method, path, route, status, duration_ms).
    Written for the access line's sake, which every request pays for."""

    def __init__(self) -> None:
        super().__init__()
        self._encoder = json.JSONEncoder(default=str, ensure_ascii=False)
        self._second = -1
        self._second_text = ""

    def _timestamp(self, created: float) -> str:
        # Called under the handler's lock: the cached second needs no lock of its own.
        second = int(created)
        if second != self._second:
            self._second = second
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._second_text}.{int((created - second) * 1000):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": self._timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": mask_emails(record.getMessage()),
            "request_id": getattr(record, "request_id", None) or _request_id.get(),
        }
        fields = record.__dict__.keys() - _RECORD_ATTRIBUTES
        if fields:
            for name, value in record.__dict__.items():
                if name in fields and name not in line:
                    line[name] = value
        if record.exc_info:
            line["exception"] = mask_emails(self.formatException(record.exc_info))
        return self._encoder.encode(line)


class TextFormatter(logging.Formatter):
    """`time level logger [request id] message`, for reading at a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not getattr(record, "request_id", None):
            record.request_id = _request_id.get() or "-"
        return mask_emails(super().format(record))


def log_format(configured: str) -> str:
    """'json' or 'text': as configured, else JSON unless a person watches stderr."""
    if configured in ("json", "text"):
        return configured
    return "text" if sys.stderr.isatty() else "json"


def configure_logging(*, level: str, fmt: str) -> None:
    """Send every logger of the process (OpsDesk's, uvicorn's, the libraries') through one
    handler on stderr in the chosen format."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format(fmt) == "json" else TextFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)  # libraries: warnings and errors only
    logging.captureWarnings(True)  # Python warnings too, rather than bare lines on stderr
    # No line shows the thread or process: don't look them up for every record.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging.getLogger("opsdesk").setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        uvicorn_log = logging.getLogger(name)
        uvicorn_log.handlers.clear()
        uvicorn_log.propagate = True
        uvicorn_log.setLevel(level.upper())
