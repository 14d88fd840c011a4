"""Single-statement reads for the hottest routes (the customer lookup), straight on the
database driver in autocommit mode: no ORM session, no transaction to begin and end, no
thread hop.

- SQLite: one read-only connection per thread. The query runs in-process and a WAL reader
  never waits on a writer, so it is called on the event loop.
- PostgreSQL: a psycopg async connection pool; the round trip is awaited on the event loop.

A statement is one snapshot on both, so a single statement needs no transaction. The SQL
is written with `:name` parameters (as for SQLAlchemy's `text()`) and may differ per dialect.
Writes never come here; they go through `api.db` sessions.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Protocol

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy.engine import make_url

from api.db import DatabaseConfig, database_config

_PARAM = re.compile(r"(?<![:\w]):(\w+)")


class Reader(Protocol):
    dialect: str

    def timestamp(self, value: datetime) -> Any:
        """A UTC datetime as this database compares it with stored ones."""

    async def fetch_one(self, sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None: ...

    async def close(self) -> None: ...


class SqliteReader:
    dialect = "sqlite"

    def __init__(self, path: str, wait_seconds: float) -> None:
        self._path = path
        self._busy_timeout_ms = int(wait_seconds * 1000)
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            # It runs on the event loop: a WAL reader waits only in rare cases (recovery after
            # a crash), and never for long; past the wait it is a 503, not a stalled api.
            conn.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
        return conn

    def timestamp(self, value: datetime) -> Any:
        # As SQLAlchemy stores UTC datetimes in SQLite (see api.ops.common.types).
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    async def fetch_one(self, sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._connection().execute(sql, params).fetchone()
        return row

    async def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


class PostgresReader:
    dialect = "postgresql"

    def __init__(self, conninfo: str, max_size: int, wait_seconds: float) -> None:
        # Requests beyond max_size wait for a free connection here (api.db.DatabaseConfig).
        self._conninfo = conninfo
        self._max_size = max_size
        self._wait_seconds = wait_seconds
        self._pool: AsyncConnectionPool | None = None
        self._opening = asyncio.Lock()
        self._sql: dict[str, str] = {}
        self._errors_seen = 0
        # Until a read has reached the server, its state is unknown: the first read goes
        # direct (the pool is still opening its first connection then, too).
        self._away = True

    def timestamp(self, value: datetime) -> Any:
        return value

    async def _open_pool(self) -> AsyncConnectionPool:
        async with self._opening:
            if self._pool is None:
                # A request waits at most wait_seconds for a connection (PoolTimeout, a 503),
                # also while the server is down; the pool keeps reconnecting behind.
                pool = AsyncConnectionPool(
                    self._conninfo,
                    min_size=1,
                    max_size=self._max_size,
                    kwargs={"autocommit": True},
                    open=False,
                    timeout=self._wait_seconds,
                )
                await pool.open(wait=False)
                self._pool = pool
            return self._pool

    def _driver_sql(self, sql: str) -> str:
        driver_sql = self._sql.get(sql)
        if driver_sql is None:
            driver_sql = _PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))
            self._sql[sql] = driver_sql
        return driver_sql

    async def fetch_one(self, sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
        pool = self._pool or await self._open_pool()
        driver_sql = self._driver_sql(sql)
        errors = pool.get_stats().get("connections_errors", 0)
        if self._away or errors != self._errors_seen:
            # The pool failed to connect since the last read, or the server was away then:
            # rather than wait the pool's 3 s for a connection, try one of our own, which
            # fails at once while the server refuses connections (as the session routes do)
            # and tells when it is back.
            self._errors_seen = errors
            try:
                found = await self._fetch_direct(driver_sql, params)
            except psycopg.OperationalError:
                self._away = True
                raise
            self._away = False
            return found
        try:
            async with pool.connection() as conn:
                cursor = await conn.execute(driver_sql, params)
                row: tuple[Any, ...] | None = await cursor.fetchone()
                return row
        except PoolTimeout:
            raise  # no connection within the pool's timeout: the server is away
        except psycopg.OperationalError:
            # The server closed the connection (a restart, an idle timeout, or it is gone):
            # the pool drops it on its way back. A read is safe to try once more, on a
            # connection of our own, which fails at once if the server now refuses
            # connections rather than waiting out the pool's timeout.
            pass
        try:
            found = await self._fetch_direct(driver_sql, params)
        except psycopg.OperationalError:
            self._away = True
            raise
        return found

    async def _fetch_direct(
        self, driver_sql: str, params: dict[str, Any]
    ) -> tuple[Any, ...] | None:
        conn = await psycopg.AsyncConnection.connect(
            self._conninfo, autocommit=True, connect_timeout=max(1, round(self._wait_seconds))
        )
        try:
            cursor = await conn.execute(driver_sql, params)
            row: tuple[Any, ...] | None = await cursor.fetchone()
            return row
        finally:
            await conn.close()

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


def make_reader(url: str | None = None, config: DatabaseConfig | None = None) -> Reader:
    """The reader of the database, configured as the sessions are (api.db.database_config)."""
    config = config or database_config(url)
    parsed = make_url(config.url)
    if parsed.get_backend_name() == "sqlite":
        return SqliteReader(parsed.database or ":memory:", config.sqlite_read_wait_seconds)
    if parsed.get_backend_name() == "postgresql":
        conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        return PostgresReader(conninfo, config.reader_pool_size, config.wait_seconds)
    raise ValueError(f"no fast reader for {parsed.get_backend_name()}")


@lru_cache
def get_reader() -> Reader:
    return make_reader()
