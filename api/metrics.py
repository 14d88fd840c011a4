"""Prometheus metrics of the api process, served at `GET /metrics` (text exposition format).

These count what the process did since it started: requests and their latency, errors,
failed verifications, tickets, replays, database outages. The business KPIs read from the
database (on-time delivery, return rate...) are another thing: `api/ops/metrics`.

Labels are bounded sets only: a route template (`/api/v1/orders/{order_number}`), never a
raw path with an order number in it; a problem `code` from the code, never input.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

# Requests of the api take from a fraction of a millisecond (ping, a lookup on SQLite) to
# seconds (a database that is going away).
LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Requests that matched no route (404s, probes) share one label value.
UNMATCHED_ROUTE = "unmatched"

request_duration = Histogram(
    "opsdesk_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by route template",
    ("method", "route", "status_class"),
    buckets=LATENCY_BUCKETS,
)
http_errors = Counter(
    "opsdesk_http_errors",
    "Error answers (application/problem+json) by HTTP status and problem code",
    ("status", "code"),
)
verification_failures = Counter(
    "opsdesk_verification_failures",
    "Customer verifications that failed (wrong email or postal code, or unknown order)",
)
tickets_opened = Counter(
    "opsdesk_tickets_opened",
    "Tickets opened in the human queue (an escalation added to an open ticket is not one)",
    ("priority",),
)
idempotent_replays = Counter(
    "opsdesk_idempotent_replays",
    "Creates answered from an earlier request with the same Idempotency-Key",
    ("scope",),
)
database_unavailable = Counter(
    "opsdesk_database_unavailable",
    "Requests answered 503 because the database could not be reached",
)
assistant_turns_waiting = Gauge(
    "opsdesk_assistant_turns_waiting",
    "Customer turns waiting in this api process for a free request slot to a Rasa server",
)
assistant_busy = Counter(
    "opsdesk_assistant_busy",
    "Turns answered 'briefly unavailable' because no request slot to Rasa came free in time",
)
pruned_records = Counter(
    "opsdesk_pruned_records",
    "Rows deleted after their retention window, by table",
    ("table",),
)

# Children of the histogram by (method, route, status class): labels() takes a lock and
# builds a tuple on every call; the set of keys is small and bounded.
_duration_children: dict[tuple[str, str, str], Histogram] = {}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """One finished request. `route` is the matched route's template."""
    key = (method if method in METHODS else "other", route, f"{status // 100}xx")
    child = _duration_children.get(key)
    if child is None:
        child = _duration_children[key] = request_duration.labels(*key)
    child.observe(seconds)


def error_answered(status: int, code: str) -> None:
    http_errors.labels(str(status), code).inc()


def verification_failed() -> None:
    verification_failures.inc()


def ticket_opened(priority: str) -> None:
    tickets_opened.labels(priority).inc()


def idempotent_replay(scope: str) -> None:
    idempotent_replays.labels(scope).inc()


def database_unreachable() -> None:
    database_unavailable.inc()


def records_pruned(table: str, count: int) -> None:
    pruned_records.labels(table).inc(count)


def exposition() -> tuple[bytes, str]:
    """The current figures of every metric of the process, and their content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
