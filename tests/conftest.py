"""Shared test fixtures: real databases (SQLite file, PostgreSQL `test`) and a live api process."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from api import stack
from api.db import make_engine

REPO = Path(__file__).resolve().parent.parent
# The PostgreSQL server the tests may use. They never touch a database they did not create:
# each store gets a new database named opsdesk_test_<random> and only that one is dropped.
PG_SERVER_URL = os.environ.get(
    "OPSDESK_TEST_PG_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TEST_DB_PREFIX = "opsdesk_test_"


def pg_reachable() -> bool:
    try:
        engine = sa.create_engine(PG_SERVER_URL)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


def require_postgres() -> None:
    if pg_reachable():
        return
    if IN_CI:
        pytest.fail(f"PostgreSQL is not reachable at {PG_SERVER_URL}; CI machines must have it")
    pytest.skip(f"PostgreSQL is not reachable at {PG_SERVER_URL}")


def _server_admin() -> sa.Engine:
    return sa.create_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT")


def create_test_database() -> str:
    """A new, uniquely named, empty database on the test server; returns its URL."""
    name = f"{TEST_DB_PREFIX}{secrets.token_hex(6)}"
    engine = _server_admin()
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return sa.make_url(PG_SERVER_URL).set(database=name).render_as_string(hide_password=False)


def drop_test_database(url: str) -> None:
    """Drop a database that create_test_database() made; refuses any other name."""
    name = sa.make_url(url).database or ""
    if not name.startswith(TEST_DB_PREFIX):
        raise ValueError(f"refusing to drop {name!r}: the tests did not create it")
    engine = _server_admin()
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        # Rasa's tracker store beside it (api/rasa_profile.py), when a stack ran on it.
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}_tracker" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    require_postgres()
    url = create_test_database()
    try:
        yield url
    finally:
        drop_test_database(url)


def alive(pid: int) -> bool:
    """Is the process running (a zombie, exited but not yet reaped, is not)?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(")")[-1].split()[0] != "Z"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Store:
    """A seeded database and, when started, an api process serving it."""

    backend: str
    url: str
    var_dir: Path
    keys: dict[str, str] = field(default_factory=dict)
    base_url: str = ""
    process: stack.Process | None = None
    log_path: Path | None = None
    settings: dict[str, str] = field(default_factory=dict)  # more OPSDESK_* for the api

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "OPSDESK_DATABASE_URL": self.url,
            "OPSDESK_VAR_DIR": str(self.var_dir),
            "OPSDESK_ADMIN_KEY": self.keys["admin"],
            "OPSDESK_SERVICE_KEY": self.keys["service"],
            "OPSDESK_AGENT_KEY": self.keys["agent"],
            "OPSDESK_LOG_LEVEL": "info",
        } | self.settings

    def engine(self) -> sa.Engine:
        return make_engine(self.url)

    def client(self, role: str = "admin", **kwargs: object) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {self.keys[role]}"},
            timeout=30.0,
            **kwargs,  # type: ignore[arg-type]
        )

    def scalar(self, sql: str, **params: object) -> object:
        engine = self.engine()
        try:
            with engine.connect() as conn:
                return conn.execute(sa.text(sql), params).scalar()
        finally:
            engine.dispose()


def new_store(backend: str, tmp: Path) -> Store:
    if backend == "postgres":
        require_postgres()
        url = create_test_database()
    else:
        url = f"sqlite:///{tmp / 'ops.db'}"
    store = Store(backend=backend, url=url, var_dir=tmp / "var")
    store.keys = {role: secrets.token_urlsafe(24) for role in ("admin", "service", "agent")}
    subprocess.run(
        [sys.executable, "-m", "api.cli", "seed"],
        cwd=REPO,
        env=store.env,
        check=True,
        capture_output=True,
    )
    return store


def start_api(store: Store, extra_env: dict[str, str] | None = None, timeout: float = 90) -> None:
    """Start an api process on `store` (with `extra_env` added to its environment) and wait
    for its /healthz. The default timeout is generous: on a loaded two-core machine the first
    import of the app can take a while."""
    port = free_port()
    store.log_path = store.var_dir / "api.log"
    store.base_url = f"http://127.0.0.1:{port}"
    store.process = stack.start(
        [sys.executable, "-m", "api.cli", "api", "--port", str(port)],
        cwd=REPO,
        env={**store.env, **(extra_env or {})},
        log_path=store.log_path,
        health_url=f"{store.base_url}/healthz",
        timeout=timeout,
        name="api",
    )


def stop_api(store: Store) -> None:
    if store.process:
        store.process.stop(grace=10)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    """A freshly seeded database behind a running api process, one per test module and backend."""
    store = new_store(request.param, tmp_path_factory.mktemp(request.param))
    start_api(store)
    yield store
    stop_api(store)
    drop_store(store)


def drop_store(store: Store) -> None:
    if store.backend == "postgres":
        drop_test_database(store.url)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    """A freshly seeded database without a server, for service-level tests."""
    store = new_store(request.param, tmp_path_factory.mktemp(request.param))
    yield store
    drop_store(store)


@dataclass
class FullSystem:
    """The api, the action server and `rasa run` with the trained model, on a fresh seeded
    SQLite database (`full_system`)."""

    api_url: str
    rasa_url: str
    db_url: str
    admin_key: str
    procs: dict[str, stack.Process]
    log_dir: Path


@contextmanager
def full_system(
    var: Path, extra_env: dict[str, str] | None = None, *, timeout: float = 240
) -> Iterator[FullSystem]:
    """Seed a database under `var` and start the whole system on free ports (`extra_env` is
    added to the processes' environment); stops it on leaving. The model is trained first
    only when the training data changed since the last one (`opsdesk train`)."""
    from api import cli

    assert cli.train().exists()
    db_url = f"sqlite:///{var / 'ops.db'}"
    keys = {
        "OPSDESK_ADMIN_KEY": secrets.token_urlsafe(24),
        "OPSDESK_SERVICE_KEY": secrets.token_urlsafe(24),
    }
    overrides = {
        "OPSDESK_VAR_DIR": str(var),
        "OPSDESK_DATABASE_URL": db_url,
        **keys,
        **(extra_env or {}),
    }
    subprocess.run(
        [sys.executable, "-m", "api.cli", "seed"],
        cwd=REPO,
        check=True,
        env={**os.environ, **overrides},
        capture_output=True,
    )
    ports = free_port(), free_port(), free_port()
    log_dir = var / "logs"
    procs = cli.start_processes(*ports, env_overrides=overrides, log_dir=log_dir, timeout=timeout)
    try:
        yield FullSystem(
            api_url=f"http://127.0.0.1:{ports[0]}",
            rasa_url=f"http://127.0.0.1:{ports[1]}",
            db_url=db_url,
            admin_key=keys["OPSDESK_ADMIN_KEY"],
            procs=procs,
            log_dir=log_dir,
        )
    finally:
        cli.stop_processes(procs)
