"""What an operator sees: request ids on answers and log lines, JSON log lines that carry
no personal data, Prometheus metrics at /metrics, and expired rows pruned."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from api import stack
from api.observability import (
    JsonFormatter,
    bind_request_id,
    current_request_id,
    forwarding_headers,
)
from api.retention import prune_expired
from api.settings import Settings
from tests.conftest import REPO, Store, free_port

GENERATED_ID = re.compile(r"[0-9a-f]{32}")
LOG_FIELDS = {"timestamp", "level", "logger", "message", "request_id"}
ACCESS_FIELDS = LOG_FIELDS | {"method", "path", "route", "status", "duration_ms"}


# ----------------------------------------------------------------------------- helpers


def log_lines(live: Store) -> list[dict]:
    assert live.log_path is not None
    return [json.loads(ln) for ln in live.log_path.read_text().splitlines() if ln.strip()]


def lines_of(
    live: Store, request_id: str, until: Callable[[list[dict]], bool] | None = None
) -> list[dict]:
    """The log lines of one request; waits (a little) for its access line, which is written
    just after the answer is sent."""
    until = until or (lambda lines: any(ln["logger"] == "opsdesk.access" for ln in lines))
    deadline = time.monotonic() + 5
    while True:
        lines = [ln for ln in log_lines(live) if ln.get("request_id") == request_id]
        if until(lines) or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def access_line(live: Store, request_id: str) -> dict:
    [line] = [ln for ln in lines_of(live, request_id) if ln["logger"] == "opsdesk.access"]
    return line


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(live: Store, key: str | None = None) -> Samples:
    r = httpx.get(
        f"{live.base_url}/metrics",
        headers={"Authorization": f"Bearer {key or live.keys['admin']}"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(r.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def failed_lookup(live: Store, conversation: str, **headers: str) -> httpx.Response:
    with live.client("service") as c:
        r = c.post(
            "/api/v1/orders/lookup",
            json={
                "order_number": "10001",
                "email": "not.jane@example.com",
                "conversation_id": conversation,
            },
            headers=headers,
        )
    assert r.status_code == 404, r.text
    return r


def create_ticket(live: Store, idempotency_key: str) -> int:
    """A ticket of no conversation, so every create is a new ticket (not an addition)."""
    with live.client("admin") as c:
        r = c.post(
            "/api/v1/tickets",
            json={"reason": "observability_test", "summary": "pruning"},
            headers={"Idempotency-Key": idempotency_key},
        )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def idempotency_records(live: Store, key: str) -> int:
    found = live.scalar(
        "SELECT count(*) FROM idempotency_records WHERE idempotency_key = :key", key=key
    )
    return int(found)  # type: ignore[call-overload]


def verification_buckets(live: Store, conversation: str) -> int:
    found = live.scalar(
        "SELECT count(*) FROM verification_buckets WHERE key = :key",
        key=f"conversation:{conversation}",
    )
    return int(found)  # type: ignore[call-overload]


# ------------------------------------------------------------------------- request ids


def test_a_request_id_sent_is_echoed_and_on_every_log_line_of_its_request(live: Store) -> None:
    request_id = f"obs-{secrets.token_hex(6)}"
    r = failed_lookup(live, "obs-echo", **{"X-Request-ID": request_id})
    assert r.headers["x-request-id"] == request_id

    lines = lines_of(
        live, request_id, until=lambda lines: {ln["logger"] for ln in lines} >= {"opsdesk.access"}
    )
    loggers = {ln["logger"] for ln in lines}
    # The route's own line (the failed verification) and the access line share the id.
    assert {"opsdesk.verification", "opsdesk.access"} <= loggers
    access = access_line(live, request_id)
    assert access.keys() >= ACCESS_FIELDS
    assert (access["method"], access["path"], access["route"], access["status"]) == (
        "POST",
        "/api/v1/orders/lookup",
        "/api/v1/orders/lookup",
        404,
    )
    assert isinstance(access["duration_ms"], float) and access["duration_ms"] > 0


@pytest.mark.parametrize(
    "sent",
    [
        "two words",
        "x" * 129,
        "jane.doe@example.com",
        'quo"ted',
        "caf\u00e9".encode(),
        "",
    ],
    ids=["space", "too-long", "email", "quote", "non-ascii", "empty"],
)
def test_a_malformed_request_id_is_replaced(live: Store, sent: str | bytes) -> None:
    with live.client("admin") as c:
        r = c.get("/api/v1/ping", headers={"X-Request-ID": sent})
    assert r.status_code == 200
    given = r.headers["x-request-id"]
    assert GENERATED_ID.fullmatch(given), given
    assert access_line(live, given)["path"] == "/api/v1/ping"
    if sent:
        text = sent.decode() if isinstance(sent, bytes) else sent
        assert text not in live.log_path.read_text()  # type: ignore[union-attr]


def test_the_longest_sane_request_id_is_kept(live: Store) -> None:
    sent = "a1.B2:c3-" * 14 + "xy"  # 128 characters
    with live.client("admin") as c:
        r = c.get("/api/v1/ping", headers={"X-Request-ID": sent})
    assert r.headers["x-request-id"] == sent


def test_an_id_is_generated_when_none_is_sent_also_on_404_and_413_problems(live: Store) -> None:
    with live.client("admin") as c:
        no_route = c.get("/api/v1/no-such-thing")
        no_order = c.get("/api/v1/orders/99999999")
        too_large = c.post(
            "/api/v1/tickets",
            content=b'{"summary": "' + b"x" * (300 * 1024) + b'"}',
            headers={"Content-Type": "application/json"},
        )
    answers = {"no route": no_route, "no order": no_order, "too large": too_large}
    assert [r.status_code for r in answers.values()] == [404, 404, 413]
    ids = [r.headers["x-request-id"] for r in answers.values()]
    assert all(GENERATED_ID.fullmatch(i) for i in ids) and len(set(ids)) == 3
    for r in answers.values():
        assert r.headers["content-type"] == "application/problem+json"
    assert access_line(live, no_route.headers["x-request-id"])["route"] == "unmatched"
    assert access_line(live, no_order.headers["x-request-id"])["route"] == (
        "/api/v1/orders/{order_number}"
    )
    large = access_line(live, too_large.headers["x-request-id"])
    assert (large["status"], large["path"]) == (413, "/api/v1/tickets")


def test_an_unexpected_error_is_a_500_with_the_request_id_on_its_answer_and_lines(
    live: Store,
) -> None:
    # A status no release ever wrote (a bad manual edit): the staff view cannot present it.
    engine = live.engine()
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE orders SET status = 'teleported' WHERE number = 10026")
    engine.dispose()
    before = scrape(live)
    with live.client("admin") as c:
        r = c.get("/api/v1/orders/10026", headers={"X-Request-ID": "crash-10026"})
        assert r.status_code == 500 and r.json()["code"] == "internal_error"
        assert r.headers["x-request-id"] == "crash-10026"
        assert c.get("/api/v1/ping").status_code == 200  # the same connection still serves
    lines = lines_of(live, "crash-10026")
    [error] = [ln for ln in lines if ln["logger"] == "opsdesk.api"]
    assert error["level"] == "error" and "Traceback" in error["exception"]
    assert access_line(live, "crash-10026")["status"] == 500
    after = scrape(live)
    errors = ("opsdesk_http_errors_total", {"status": "500", "code": "internal_error"})
    assert value(after, errors[0], **errors[1]) - value(before, errors[0], **errors[1]) == 1
    count = "opsdesk_http_request_duration_seconds_count"
    order = {"method": "GET", "route": "/api/v1/orders/{order_number}", "status_class": "5xx"}
    assert value(after, count, **order) - value(before, count, **order) == 1


# -------------------------------------------------------------------------------- logs


def test_log_lines_are_json_objects_with_no_email_query_string_or_key(live: Store) -> None:
    with live.client("admin") as c:
        c.get("/api/v1/orders", params={"customer_email": "leaky.person@example.com"})
        c.get("/api/v1/orders/leaky.person@example.com")  # an address where a number belongs
        c.get("/api/v1/kb/search", params={"q": "return window"})
    failed_lookup(live, "obs-logs")
    with live.client("agent") as c:
        last = c.get("/api/v1/ping").headers["x-request-id"]
    access_line(live, last)  # everything above is written by now

    lines = log_lines(live)  # json.loads fails on any line that is not one JSON object
    assert lines and all(isinstance(ln, dict) and ln.keys() >= LOG_FIELDS for ln in lines)
    access = [ln for ln in lines if ln["logger"] == "opsdesk.access"]
    assert all(ln.keys() >= ACCESS_FIELDS for ln in access)
    assert all("?" not in ln["path"] and "?" not in ln["message"] for ln in access)
    assert any(ln["path"] == "/api/v1/orders/[email]" for ln in access)
    text = live.log_path.read_text()  # type: ignore[union-attr]
    assert "@example.com" not in text and "leaky.person" not in text
    assert "customer_email" not in text and "return window" not in text
    for key in live.keys.values():
        assert key not in text


def test_an_email_in_an_error_text_is_masked_in_the_log_line() -> None:
    try:
        raise ValueError("duplicate key (email)=(jane.doe@example.com)")
    except ValueError:
        record = logging.LogRecord(
            "opsdesk.api", logging.ERROR, __file__, 1, "failed for %s", ("sam.lee@example.com",),
            exc_info=sys.exc_info(),
        )  # fmt: skip
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "failed for [email]"
    assert "duplicate key (email)=([email])" in line["exception"]
    assert "@" not in json.dumps(line)


def test_the_hub_forwards_the_id_of_the_request_it_is_handling() -> None:
    def handling() -> tuple[dict[str, str], str | None]:
        bind_request_id("widget-msg-42")
        return forwarding_headers(), current_request_id()

    assert contextvars.copy_context().run(handling) == (
        {"X-Request-ID": "widget-msg-42"},
        "widget-msg-42",
    )
    assert contextvars.copy_context().run(forwarding_headers) == {}  # outside a request


# ----------------------------------------------------------------------------- metrics


def test_metrics_need_the_metrics_token_or_the_admin_key(live: Store) -> None:
    url = f"{live.base_url}/metrics"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer not-a-key"}).status_code == 401
    for role in ("agent", "service"):
        r = httpx.get(url, headers={"Authorization": f"Bearer {live.keys[role]}"})
        assert r.status_code == 403 and r.json()["code"] == "forbidden"
    token = json.loads((live.var_dir / "secrets.json").read_text())["metrics_token"]
    assert value(scrape(live, token), "opsdesk_database_unavailable_total") == 0
    assert scrape(live)  # the admin key


def test_metrics_move_with_requests_by_route_template(live: Store) -> None:
    before = scrape(live)
    with live.client("admin") as c:
        for _ in range(2):
            assert c.get("/api/v1/orders/10001").status_code == 200
    failed_lookup(live, "obs-metrics")
    key = f"obs-metrics-{secrets.token_hex(4)}"
    first = create_ticket(live, key)
    assert create_ticket(live, key) == first  # a retry: answered again, not opened again
    after = scrape(live)

    order = {"method": "GET", "route": "/api/v1/orders/{order_number}", "status_class": "2xx"}
    count = "opsdesk_http_request_duration_seconds_count"
    assert value(after, count, **order) - value(before, count, **order) == 2
    bucket = "opsdesk_http_request_duration_seconds_bucket"
    assert value(after, bucket, **order, le="+Inf") == value(after, count, **order)
    lookup = {"method": "POST", "route": "/api/v1/orders/lookup", "status_class": "4xx"}
    assert value(after, count, **lookup) - value(before, count, **lookup) == 1
    # No raw path, order number or email is ever a label value.
    labels = {v for (_name, pairs) in after for (_k, v) in pairs}
    assert not any("10001" in v or "@" in v for v in labels)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("opsdesk_verification_failures_total") == 1
    assert moved("opsdesk_http_errors_total", status="404", code="order_not_found") == 1
    assert moved("opsdesk_tickets_opened_total", priority="normal") == 1
    assert moved("opsdesk_idempotent_replays_total", scope="POST /tickets") == 1
    assert moved("opsdesk_database_unavailable_total") == 0


def test_an_escalation_added_to_an_open_ticket_is_not_a_ticket_opened(live: Store) -> None:
    conversation = f"obs-escalation-{secrets.token_hex(4)}"
    before = scrape(live)
    with live.client("service") as c:
        for summary in ("first", "second"):
            r = c.post(
                "/api/v1/tickets",
                json={"conversation_id": conversation, "reason": "question", "summary": summary},
            )
            assert r.status_code == 201, r.text
    after = scrape(live)
    opened = "opsdesk_tickets_opened_total"
    assert value(after, opened, priority="normal") - value(before, opened, priority="normal") == 1


# ----------------------------------------------------------------------------- pruning


def test_pruning_removes_only_idempotency_records_older_than_the_window(live: Store) -> None:
    old_key, new_key = (f"obs-prune-{age}-{secrets.token_hex(4)}" for age in ("old", "new"))
    old_ticket = create_ticket(live, old_key)
    time.sleep(2.0)
    new_ticket = create_ticket(live, new_key)

    engine = live.engine()
    try:
        pruned = prune_expired(engine, Settings(), idempotency_older_than=timedelta(seconds=1))
    finally:
        engine.dispose()
    assert pruned["idempotency_records"] >= 1
    assert idempotency_records(live, old_key) == 0
    assert idempotency_records(live, new_key) == 1
    # Within the window a retry is answered from the record; past it, it creates anew.
    assert create_ticket(live, new_key) == new_ticket
    assert create_ticket(live, old_key) not in (old_ticket, new_ticket)


def test_pruning_removes_verification_buckets_whose_window_has_passed(live: Store) -> None:
    old, new = (f"obs-failures-{age}-{secrets.token_hex(4)}" for age in ("old", "new"))
    failed_lookup(live, old)
    time.sleep(2.0)
    failed_lookup(live, new)

    engine = live.engine()
    try:
        prune_expired(
            engine,
            Settings(lookup_failure_window_seconds=1),
            idempotency_older_than=timedelta(days=1),
        )
    finally:
        engine.dispose()
    assert verification_buckets(live, old) == 0
    assert verification_buckets(live, new) == 1


def opsdesk(live: Store, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        cwd=REPO,
        env={**live.env, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_opsdesk_prune_keeps_records_within_the_retention_and_removes_them_past_it(
    live: Store,
) -> None:
    key = f"obs-cli-{secrets.token_hex(4)}"
    create_ticket(live, key)

    kept = opsdesk(live, "prune")  # the default retention: 24 hours
    assert kept.returncode == 0, kept.stderr
    assert "pruned 0 idempotency records" in kept.stdout
    assert idempotency_records(live, key) == 1

    shorter = opsdesk(live, "prune", OPSDESK_IDEMPOTENCY_RETENTION_HOURS="1")
    assert shorter.returncode == 0 and idempotency_records(live, key) == 1

    removed = opsdesk(live, "prune", "--older-than", "0s")
    assert removed.returncode == 0, removed.stderr
    count = int(re.search(r"pruned (\d+) idempotency records", removed.stdout).group(1))  # type: ignore[union-attr]
    assert count >= 1
    assert idempotency_records(live, key) == 0

    wrong = opsdesk(live, "prune", "--older-than", "soon")
    assert wrong.returncode == 2 and "not a duration" in wrong.stderr


@pytest.fixture
def pruning_api(live: Store) -> Iterator[tuple[str, Path]]:
    """A second api process on the same database that prunes every half second and keeps
    idempotency records for 7.2 seconds, writing its log as text; yields its base URL and
    its log file."""
    port = free_port()
    log_path = Path(live.var_dir) / f"pruning-api-{port}.log"
    env = {
        **live.env,
        "OPSDESK_IDEMPOTENCY_RETENTION_HOURS": "0.002",
        "OPSDESK_PRUNE_INTERVAL_SECONDS": "0.5",
        "OPSDESK_LOG_FORMAT": "text",
    }
    base_url = f"http://127.0.0.1:{port}"
    with stack.start(
        [sys.executable, "-m", "api.cli", "api", "--port", str(port)],
        cwd=REPO,
        env=env,
        log_path=log_path,
        health_url=f"{base_url}/healthz",
        timeout=30,
        name="pruning api",
    ):
        yield base_url, log_path


def test_the_api_prunes_expired_records_in_the_background(
    live: Store, pruning_api: tuple[str, Path]
) -> None:
    base_url, log_path = pruning_api
    key = f"obs-background-{secrets.token_hex(4)}"
    admin = {"Authorization": f"Bearer {live.keys['admin']}"}
    r = httpx.post(
        f"{base_url}/api/v1/tickets",
        json={"reason": "observability_test"},
        headers={**admin, "Idempotency-Key": key, "X-Request-ID": f"bg-{key}"},
    )
    assert r.status_code == 201, r.text
    assert idempotency_records(live, key) == 1  # younger than the 7.2 s window

    deadline = time.monotonic() + 30
    while idempotency_records(live, key) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert idempotency_records(live, key) == 0
    metrics = httpx.get(f"{base_url}/metrics", headers=admin).text
    [pruned] = [
        ln for ln in metrics.splitlines()
        if ln.startswith('opsdesk_pruned_records_total{table="idempotency_records"}')
    ]  # fmt: skip
    assert float(pruned.split()[-1]) >= 1
    # OPSDESK_LOG_FORMAT=text: a line for a person, with the request id in brackets.
    text = log_path.read_text()
    assert re.search(rf"INFO opsdesk\.access \[bg-{key}\] POST /api/v1/tickets 201 ", text), text[
        -2000:
    ]
    assert re.search(r"INFO opsdesk\.retention \[-\] pruned [1-9]\d* idempotency records", text)


def test_while_the_database_is_away_503s_carry_the_request_id_and_metrics_still_answer(
    tmp_path: Path,
) -> None:
    with socket.socket() as s:  # a port where no database listens
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    keys = {role: secrets.token_urlsafe(16) for role in ("admin", "service", "agent")}
    store = Store(
        backend="postgres",
        url=f"postgresql+psycopg://postgres@127.0.0.1:{dead}/none?connect_timeout=2",
        var_dir=tmp_path / "var",
        keys=keys,
    )
    port = free_port()
    store.log_path = tmp_path / "api.log"
    store.base_url = f"http://127.0.0.1:{port}"
    with stack.start(
        [sys.executable, "-m", "api.cli", "api", "--port", str(port)],
        cwd=REPO,
        env={**store.env, "OPSDESK_METRICS_TOKEN": "scraper-token-1"},
        log_path=store.log_path,
        health_url=f"{store.base_url}/api/v1/ping",  # /healthz needs the database
        timeout=30,
        name="api",
    ):
        with store.client("admin") as c:
            r = c.get("/api/v1/orders/10001", headers={"X-Request-ID": "outage-1"})
        assert r.status_code == 503 and r.json()["code"] == "database_unavailable"
        assert r.headers["x-request-id"] == "outage-1"
        lines = lines_of(store, "outage-1")
        assert any(
            ln["logger"] == "opsdesk.api" and "database unavailable" in ln["message"]
            for ln in lines
        )
        assert access_line(store, "outage-1")["status"] == 503
        samples = scrape(store, "scraper-token-1")
    assert value(samples, "opsdesk_database_unavailable_total") == 1
    assert value(samples, "opsdesk_http_errors_total", status="503", code="database_unavailable")
