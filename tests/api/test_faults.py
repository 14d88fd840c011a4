"""Faults on the way to the database: the api recovers without a restart."""

from __future__ import annotations

import secrets
import socket
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from api import stack
from tests.api.tcp_cut import CuttableRelay
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
    store.base_url = f"http://127.0.0.1:{port}"
    with stack.start(
        [sys.executable, "-m", "api.cli", "api", "--port", str(port)],
        cwd=REPO,
        env=store.env,
        log_path=log_path,
        health_url=f"{store.base_url}/api/v1/ping",  # /healthz needs the database
        timeout=30,
        name="api",
    ):
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
    assert "jane.doe@example.com" not in log_path.read_text()


def test_postgres_going_away_mid_request_loses_nothing_and_needs_no_restart(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Writes and reads in flight while the network to PostgreSQL is cut and restored: every
    answer is 201/200 or a fast 503 with Retry-After, a retry with the same Idempotency-Key
    after the cut makes each ticket exactly once, and the same api process serves again."""
    store = new_store("postgres", tmp_path_factory.mktemp("pg-cut"))
    direct = sa.make_url(store.url)
    relay = CuttableRelay((direct.host or "127.0.0.1", direct.port or 5432))
    store.url = direct.set(port=relay.port).render_as_string(hide_password=False)
    start_api(store)
    try:
        results: list[tuple[str, int, float, str | None]] = []
        reads: list[int] = []
        stop = threading.Event()

        def write(worker: int) -> None:
            with store.client("service") as c:
                for i in range(400):
                    if stop.is_set():
                        return
                    key = f"cut-{worker}-{i}"
                    started = time.monotonic()
                    r = c.post(
                        "/api/v1/tickets",
                        json={"reason": "complaint", "summary": key},
                        headers={"Idempotency-Key": key},
                    )
                    took = time.monotonic() - started
                    results.append((key, r.status_code, took, r.headers.get("retry-after")))

        def read() -> None:
            with store.client("service") as c:
                while not stop.is_set():
                    reads.append(c.get("/api/v1/returns/RMA-000002").status_code)

        threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
        threads.append(threading.Thread(target=read))
        for t in threads:
            t.start()
        time.sleep(1.0)
        relay.cut()
        time.sleep(3.0)
        relay.restore()
        time.sleep(3.0)
        stop.set()
        for t in threads:
            t.join(60)

        statuses = {status for _, status, _, _ in results}
        assert statuses <= {201, 503}, statuses
        failed = [(key, took, retry) for key, status, took, retry in results if status == 503]
        assert failed, "the cut was not seen by any write"
        assert all(retry == "5" for _, _, retry in failed)
        assert max(took for _, took, _ in failed) < 4.0
        assert set(reads) <= {200, 503} and 503 in reads and reads[-1] == 200
        with store.client("service") as c:
            for key, _, _ in failed:
                r = c.post(
                    "/api/v1/tickets",
                    json={"reason": "complaint", "summary": key},
                    headers={"Idempotency-Key": key},
                )
                assert r.status_code == 201, r.text
        engine = sa.create_engine(direct)
        with engine.connect() as conn:
            counts = dict(
                conn.execute(
                    sa.text(
                        "SELECT summary, count(*) FROM tickets WHERE summary LIKE 'cut-%' "
                        "GROUP BY summary"
                    )
                ).all()
            )
        engine.dispose()
        assert set(counts) == {key for key, _, _, _ in results}
        assert set(counts.values()) == {1}
    finally:
        relay.cut()
        stop_api(store)
        relay.restore()
        drop_store(store)
        relay.cut()


def test_sqlite_locked_by_another_process_is_503_then_serves_again(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Another program holds the SQLite file's write lock past the busy timeout (a backup, a
    VACUUM): a write is a 503 with Retry-After that wrote nothing, reads go on, and once the
    lock is gone the same request succeeds on the same process."""
    store = new_store("sqlite", tmp_path_factory.mktemp("sqlite-lock"))
    start_api(store)
    try:
        path = sa.make_url(store.url).database
        assert path
        before = store.scalar("SELECT count(*) FROM tickets")
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        body = {"reason": "complaint", "summary": "during the lock"}
        headers = {"Idempotency-Key": "sqlite-lock-1"}
        try:
            with store.client("service") as c:
                locked = c.post("/api/v1/tickets", json=body, headers=headers)
                read = c.get("/api/v1/returns/RMA-000002")
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert locked.status_code == 503, locked.text
        assert locked.headers["content-type"] == "application/problem+json"
        assert locked.headers["retry-after"] == "5"
        assert read.status_code == 200  # readers do not wait for a writer in WAL mode
        assert store.scalar("SELECT count(*) FROM tickets") == before
        with store.client("service") as c:
            again = c.post("/api/v1/tickets", json=body, headers=headers)
        assert again.status_code == 201
        assert store.scalar("SELECT count(*) FROM tickets") == before + 1  # type: ignore[operator]
    finally:
        stop_api(store)
