"""Ops API latency and throughput with many orders, on SQLite and PostgreSQL.

For each backend: seed the demo store plus N generated orders (timed), start one api process,
then drive `POST /orders/lookup`, `GET /returns/{rma}` and the constant `GET /api/v1/ping`
(the framework's floor) at 1, 8 and 32 concurrent clients from this process.

    .venv/bin/opsdesk bench --only api -- --orders 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api import stack  # noqa: E402
from api.db import make_engine  # noqa: E402
from api.ops.orders import presenter  # noqa: E402
from api.reads import make_reader  # noqa: E402
from api.seed import bulk  # noqa: E402
from bench.common import HEADER, json_body, machine, percentile, run_load  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"


def fresh_database(backend: str, workdir: Path) -> str:
    """A new SQLite file, or a PostgreSQL database of its own (opsdesk_bench_<random>): the
    benchmark drops only what it created (drop_database)."""
    if backend == "sqlite":
        return f"sqlite:///{workdir / 'bench.db'}"
    name = f"opsdesk_bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{PG_SERVER}/{name}"


def drop_database(url: str) -> None:
    name = sa.engine.make_url(url).database
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def server_version(url: str) -> str:
    engine = make_engine(url)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            version = "SQLite " + conn.execute(sa.text("select sqlite_version()")).scalar_one()
        else:
            version = conn.execute(sa.text("show server_version")).scalar_one()
            version = f"PostgreSQL {version}"
    engine.dispose()
    return version


def statement_times(url: str, pairs: list[tuple[str, str]], n: int = 3000) -> None:
    """The database's share of a lookup's read: the order document statement and a constant
    `SELECT 1` through the api's own reader (api/reads.py), from this process, one at a time.
    (The lookup also admits the attempt with one write, api/ops/verification.)"""

    async def measure() -> dict[str, list[float]]:
        reader = make_reader(url)
        sql = presenter.order_by_number_sql(reader.dialect)
        times: dict[str, list[float]] = {"SELECT 1": [], "order document statement": []}
        try:
            for i in range(n + 100):
                number = int(pairs[i % len(pairs)][0])
                for name, statement, params in (
                    ("SELECT 1", "SELECT 1", {}),
                    ("order document statement", sql, {"number": number}),
                ):
                    started = time.perf_counter()
                    row = await reader.fetch_one(statement, params)
                    if i >= 100:  # the first ones warm the pool and the plan cache
                        times[name].append((time.perf_counter() - started) * 1000)
                    assert row is not None
        finally:
            await reader.close()
        return times

    for name, values in asyncio.run(measure()).items():
        print(
            f"database only, {name}: p50 {percentile(values, 0.5):.3f} ms, "
            f"p95 {percentile(values, 0.95):.3f} ms ({len(values)} in a row, no HTTP)",
            flush=True,
        )


def bench_backend(
    backend: str,
    orders: int,
    per_client: int,
    url: str | None = None,
    levels: list[int] | None = None,
) -> None:
    """Seed a fresh database (or reuse `url`, already seeded) and measure it."""
    workdir = Path(tempfile.mkdtemp(prefix=f"opsdesk-bench-{backend}-"))
    reuse = url is not None
    url = url or fresh_database(backend, workdir)
    try:
        measure_backend(backend, orders, per_client, url, reuse, workdir, levels)
    finally:
        if backend == "postgres" and not reuse:
            drop_database(url)


def measure_backend(
    backend: str,
    orders: int,
    per_client: int,
    url: str,
    reuse: bool,
    workdir: Path,
    levels: list[int] | None,
) -> None:
    keys = {"admin": secrets.token_urlsafe(24), "service": secrets.token_urlsafe(24)}
    env = {
        **os.environ,
        "OPSDESK_DATABASE_URL": url,
        "OPSDESK_VAR_DIR": str(workdir / "var"),
        "OPSDESK_ADMIN_KEY": keys["admin"],
        "OPSDESK_SERVICE_KEY": keys["service"],
        "OPSDESK_LOG_LEVEL": "warning",
        # The benchmark drives lookups from one conversation id per client; no lock-out.
        "OPSDESK_LOOKUP_MAX_FAILURES": "1000000000",
        "OPSDESK_LOOKUP_MAX_FAILURES_PER_ORDER": "1000000000",
    }
    print(
        f"\n### {backend}: {server_version(url) if backend == 'postgres' else ''}".rstrip(),
        flush=True,
    )
    engine = make_engine(url)
    if reuse:
        with engine.connect() as conn:
            count = conn.execute(sa.text("SELECT count(*) FROM orders")).scalar_one()
        print(f"{server_version(url)}; reusing a database of {count:,} orders", flush=True)
    else:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "api.cli", "seed", "--orders", str(orders)],
            cwd=REPO,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        seed_seconds = time.perf_counter() - started
        print(
            f"{server_version(url)}; seeded the demo store + {orders:,} orders in "
            f"{seed_seconds:.0f} s (`opsdesk seed --orders {orders}`, migrations included)",
            flush=True,
        )
    pairs = bulk.sample_lookups(engine, 2000)
    with engine.connect() as conn:
        rmas = [
            r
            for (r,) in conn.execute(
                sa.text("SELECT rma_number FROM rmas ORDER BY id DESC LIMIT 2000")
            )
        ]
    engine.dispose()
    statement_times(url, pairs)
    port = 18000 + random.randint(0, 999)
    api = stack.start(
        [sys.executable, "-m", "api.cli", "api", "--port", str(port)],
        cwd=REPO,
        env=env,
        health_url=f"http://127.0.0.1:{port}/healthz",
        timeout=60,
        name="api",
    )  # no log_path: its output is discarded
    with api:
        headers = {"Authorization": f"Bearer {keys['service']}", "Content-Type": "application/json"}

        def ping(_i: int):  # noqa: ANN202
            return "GET", "/api/v1/ping", None

        def lookup(i: int):  # noqa: ANN202
            number, email = pairs[i % len(pairs)]
            return (
                "POST",
                "/api/v1/orders/lookup",
                json_body(
                    {"order_number": number, "email": email, "conversation_id": f"bench-{i % 64}"}
                ),
            )

        def get_rma(i: int):  # noqa: ANN202
            return "GET", f"/api/v1/returns/{rmas[i % len(rmas)]}", None

        # Warm up caches and connections.
        run_load(
            "127.0.0.1", port, headers, lookup, clients=4, requests_per_client=100, name="warm"
        )
        run_load(
            "127.0.0.1", port, headers, get_rma, clients=4, requests_per_client=100, name="warm"
        )
        print(HEADER)
        for clients in levels or [1, 8, 32]:
            n = max(per_client // clients, 50) if clients > 1 else per_client
            for name, make in (
                ("GET /api/v1/ping (floor)", ping),
                ("POST /orders/lookup", lookup),
                ("GET /returns/{rma}", get_rma),
            ):
                result = run_load(
                    "127.0.0.1",
                    port,
                    headers,
                    make,
                    clients=clients,
                    requests_per_client=n,
                    name=name,
                )
                print(result.row(), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--requests", type=int, default=5000, help="requests per level (spread over the clients)"
    )
    parser.add_argument(
        "--database-url",
        help="measure this already seeded database instead of seeding a fresh one "
        "(give --backend to say which kind it is)",
    )
    parser.add_argument(
        "--clients", default="1,8,32", help="comma-separated concurrency levels to measure"
    )
    args = parser.parse_args()
    if args.database_url and args.backend == "both":
        parser.error("--database-url needs --backend sqlite or --backend postgres")
    print(f"machine: {machine()}")
    print(
        "one api process (uvicorn, 1 worker); load from this process on the same machine, "
        "closed loop, keep-alive connections"
    )
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    for backend in backends:
        bench_backend(
            backend,
            args.orders,
            args.requests,
            url=args.database_url,
            levels=[int(c) for c in args.clients.split(",")],
        )


if __name__ == "__main__":
    main()
