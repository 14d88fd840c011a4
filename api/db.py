"""Engine, sessions and the declarative base shared by every ops domain."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from api.settings import get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


def normalize_url(url: str) -> str:
    """Use psycopg 3 for plain postgresql:// URLs."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


@dataclass(frozen=True)
class DatabaseConfig:
    """How the api connects, for the sessions and the reader (api/reads.py) alike."""

    url: str
    # PostgreSQL sessions: this many connections, and as many again in overflow; SQLite
    # sessions keep this many open.
    pool_size: int
    # PostgreSQL reader: more connections only queue inside PostgreSQL on a small machine.
    reader_pool_size: int
    # The reader waits this long for a connection (or to connect) before a 503.
    wait_seconds: float
    # SQLite busy timeouts: a writer queues behind another; the reader runs on the event
    # loop, so it gives up sooner (a WAL reader waits only in rare cases).
    sqlite_write_wait_seconds: float
    sqlite_read_wait_seconds: float


def database_config(url: str | None = None) -> DatabaseConfig:
    """The settings' database configuration (for another database when `url` is given)."""
    settings = get_settings()
    return DatabaseConfig(
        url=normalize_url(url or settings.effective_database_url()),
        pool_size=settings.database_pool_size,
        reader_pool_size=settings.database_reader_pool_size,
        wait_seconds=settings.database_wait_seconds,
        sqlite_write_wait_seconds=settings.sqlite_write_wait_seconds,
        sqlite_read_wait_seconds=settings.sqlite_read_wait_seconds,
    )


def _sqlite_pragmas(busy_timeout_ms: int) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own handling is off).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.close()

    return on_connect


def _sqlite_begin(conn: Any) -> None:
    # A write unit of work takes SQLite's write lock up front, so two writers queue on
    # busy_timeout instead of failing when a read transaction is upgraded to a write.
    if conn.get_execution_options().get(WRITE_OPTION):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


WRITE_OPTION = "opsdesk_write"


def begin_write(session: Session) -> None:
    """Mark the session's transaction as a writer (BEGIN IMMEDIATE on SQLite; no-op elsewhere).
    Call it before the unit of work's first read."""
    if session.in_transaction():
        session.commit()  # only reads so far (the caller's key); start the writer afresh
    session.connection(execution_options={WRITE_OPTION: True})


# A statement's parameters (emails, addresses) stay out of exception texts, so that a logged
# traceback cannot carry them.
HIDE_PARAMETERS = True


def make_engine(url: str | None = None, config: DatabaseConfig | None = None) -> Engine:
    config = config or database_config(url)
    url = config.url
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///"):
            from pathlib import Path

            path = url.removeprefix("sqlite:///")
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False},
            pool_size=config.pool_size,
            hide_parameters=HIDE_PARAMETERS,
        )
        busy_ms = int(config.sqlite_write_wait_seconds * 1000)
        event.listen(engine, "connect", _sqlite_pragmas(busy_ms))
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(
        url,
        pool_size=config.pool_size,
        max_overflow=config.pool_size,
        pool_pre_ping=True,
        hide_parameters=HIDE_PARAMETERS,
    )


@lru_cache
def get_engine() -> Engine:
    return make_engine()


@lru_cache
def get_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


@contextmanager
def session_scope() -> Iterator[Session]:
    """One unit of work: commit on success, roll back on error."""
    session = get_sessionmaker()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
