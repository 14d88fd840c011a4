"""Faults on the way to the database: the api recovers without a restart."""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import REPO, Store, drop_store, free_port, new_store, start_api, stop_api


@pytest.fixture(scope="module")
def pg_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """Only a server database can close the api's connections under it."""
    store = new_store("postgres", tmp_path_factory.mktemp("postgres"))
    start_api(store)
    yield store
    stop_api(store)
    drop_store(store)


def lookup(store: Store, conversation: str) -> int:
    with store.client("service") as c:
        r = c.post(
            "/api/v1/orders/lookup",
            json={
                "order_number": "10001",
                "email": "jane.doe@example.com",
                "conversation_id": conversation,
            },
        )
    assert r.status_code in (200, 404, 500, 503), r.text
    if r.status_code == 200:
        assert r.json()["order_number"] == "10001"
    return r.status_code


def test_lookup_survives_postgres_closing_its_connections(pg_live: Store) -> None:
    live = pg_live
    # Open several pooled connections (concurrent lookups), then have the server end them all,
    # as a restart or an idle timeout would.
    for i in range(6):
        assert lookup(live, f"fault-{i}") == 200
    engine = live.engine()
    try:
        with engine.connect() as conn:
            ended = conn.execute(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    assert ended >= 1
    assert [lookup(live, f"after-{i}") for i in range(4)] == [200] * 4
    # A wrong proof still counts as a failure (a write, through the session's own pool).
    with live.client("service") as c:
        r = c.post(
            "/api/v1/orders/lookup",
            json={"order_number": "10001", "email": "x@example.com", "conversation_id": "f"},
        )
    assert r.status_code == 404
    assert (
        live.scalar("SELECT failures FROM verification_buckets WHERE key = 'conversation:f'") == 1
    )


def test_an_unreachable_database_is_503_with_retry_after(tmp_path: Path) -> None:
    """The api starts without its database and says so per request, with no email in its log."""
    port = free_port()
    with socket.socket() as s:  # a port where no database listens
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    store = Store(
        backend="postgres",
        url=f"postgresql+psycopg://postgres@127.0.0.1:{dead}/test?connect_timeout=2",
        var_dir=tmp_path / "var",
        keys={role: secrets.token_urlsafe(16) for role in ("admin", "service", "agent")},
    )
    log_path = tmp_path / "api.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "api", "--port", str(port)],
            cwd=REPO,
            env=store.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    store.base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{store.base_url}/api/v1/ping", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.1)
        with store.client("service") as c:
            started = time.monotonic()
            lookup = c.post(
                "/api/v1/orders/lookup",
                json={"order_number": "10001", "email": "jane.doe@example.com"},
            )
            rma = c.get("/api/v1/returns/RMA-000002")
            # Both read on the driver directly: they fail as soon as the server refuses, not
            # after waiting out the pool's timeout (3 s).
            direct_reads = time.monotonic() - started
        with store.client("admin") as c:
            staff = c.get("/api/v1/orders/10001")
        for r in (lookup, rma, staff):
            assert r.status_code == 503, r.text
            assert r.headers["content-type"] == "application/problem+json"
            assert r.headers["retry-after"] == "5"
            assert r.json()["code"] == "database_unavailable"
        assert direct_reads < 2.0, direct_reads
        # A key that is not one of OpsDesk's is refused as such, database or not.
        unknown = httpx.get(
            f"{store.base_url}/api/v1/orders/10001",
            headers={"Authorization": "Bearer not-a-key-of-ours"},
        )
        assert unknown.status_code == 401 and unknown.json()["code"] == "unauthorized"
    finally:
        process.terminate()
        process.wait(10)
    assert "jane.doe@example.com" not in log_path.read_text()
