"""Rasa's endpoints file, written from OpsDesk's settings each time the stack starts.

- tracker store: SQLite beside the ops database by default; when OPSDESK_DATABASE_URL is
  PostgreSQL, the same server, in its own database `<name>_tracker` (created here when
  missing, before any Rasa server starts, so replicas starting together do not race);
- lock store: in memory by default; Redis when OPSDESK_REDIS_URL is set (required as soon as
  more than one Rasa server shares the tracker store);
- event broker: none by default; RabbitMQ when OPSDESK_RABBITMQ_URL is set (every tracker
  event, for analytics).

No secret is written to the file: passwords are `${VAR}` references that Rasa expands from
the environment `rasa_env()` gives the Rasa processes.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa
import yaml

from api.settings import Settings

TRACKER_SUFFIX = "_tracker"
# Rasa's SQL tracker store without the reads it repeats on every turn (bot/tracker_store.py);
# same tables and rows as Rasa's `SQL` type. Importable because the Rasa processes run with
# the repository on PYTHONPATH (api/launch.py), as the model's own components need.
TRACKER_STORE_CLASS = "bot.tracker_store.OpsDeskTrackerStore"
LOCK_KEY_PREFIX = "opsdesk"
# Rasa's lock on a conversation outlives a server that died holding it for this many
# seconds (Rasa's own default is 60): a turn moved to another replica waits at most that.
LOCK_LIFETIME_SECONDS = 15
_PASSWORD_VARS = {
    "tracker": "OPSDESK_RASA_TRACKER_PASSWORD",
    "lock": "OPSDESK_RASA_LOCK_PASSWORD",
    "broker": "OPSDESK_RASA_BROKER_PASSWORD",
}


def _ref(variable: str) -> str:
    """A value Rasa reads from the environment when it loads the endpoints file."""
    return "${" + variable + "}"


class ProfileError(ValueError):
    """The settings do not make a Rasa setup that can work (e.g. replicas on SQLite)."""


def is_postgres(database_url: str) -> bool:
    return sa.make_url(database_url).get_backend_name() == "postgresql"


def tracker_database_url(settings: Settings) -> str | None:
    """The PostgreSQL URL of Rasa's tracker database (None when the ops data is in SQLite)."""
    url = sa.make_url(settings.effective_database_url())
    if url.get_backend_name() != "postgresql":
        return None
    return url.set(database=f"{url.database}{TRACKER_SUFFIX}").render_as_string(hide_password=False)


def check(settings: Settings) -> None:
    """Refuse a layout that would lose or reorder turns: several Rasa servers need one
    tracker store they all reach (PostgreSQL) and one lock store (Redis)."""
    if settings.replicas > 1:
        missing = []
        if tracker_database_url(settings) is None:
            missing.append("OPSDESK_DATABASE_URL (PostgreSQL)")
        if not settings.redis_url:
            missing.append("OPSDESK_REDIS_URL")
        if missing:
            raise ProfileError(
                f"{settings.replicas} replicas need {' and '.join(missing)}: several Rasa "
                "servers must share their tracker store and lock store"
            )


def ensure_tracker_database(settings: Settings) -> str | None:
    """Create `<name>_tracker` on the ops database's server when it does not exist yet."""
    tracker_url = tracker_database_url(settings)
    if tracker_url is None:
        return None
    ops_url = sa.make_url(settings.effective_database_url())
    name = sa.make_url(tracker_url).database or ""
    engine = sa.create_engine(ops_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
            if not exists:
                quoted = conn.dialect.identifier_preparer.quote(name)
                # ProgrammingError: another starter created it a moment ago.
                with contextlib.suppress(sa.exc.ProgrammingError):
                    conn.execute(sa.text(f"CREATE DATABASE {quoted}"))
    finally:
        engine.dispose()
    return tracker_url


def _tracker_store(settings: Settings, var_dir: Path) -> dict[str, Any]:
    tracker_url = tracker_database_url(settings)
    if tracker_url is None:
        return {
            "type": TRACKER_STORE_CLASS,
            "dialect": "sqlite",
            "db": str(var_dir / "rasa" / "tracker.db"),
        }
    url = sa.make_url(tracker_url)
    store: dict[str, Any] = {
        "type": TRACKER_STORE_CLASS,
        "dialect": "postgresql",  # psycopg2, which Rasa's environment has
        "url": url.host or "127.0.0.1",
        "port": url.port or 5432,
        "db": url.database,
    }
    if url.username:
        store["username"] = url.username
    if url.password:
        store["password"] = _ref(_PASSWORD_VARS["tracker"])
    if url.query:
        store["query"] = dict(url.query)
    return store


def _lock_store(settings: Settings) -> dict[str, Any]:
    if not settings.redis_url:
        return {"type": "in_memory"}
    url = urlsplit(settings.redis_url)
    store: dict[str, Any] = {
        "type": "redis",
        "url": url.hostname or "127.0.0.1",
        "port": url.port or 6379,
        "db": int(url.path.strip("/") or 0),
        "key_prefix": LOCK_KEY_PREFIX,
    }
    if url.password:
        store["password"] = _ref(_PASSWORD_VARS["lock"])
    if url.scheme == "rediss":
        store["use_ssl"] = True
    return store


def _event_broker(settings: Settings) -> dict[str, Any] | None:
    if not settings.rabbitmq_url:
        return None
    url = urlsplit(settings.rabbitmq_url)
    host = url.hostname or "127.0.0.1"
    broker: dict[str, Any] = {
        "type": "pika",
        # Rasa's broker takes a virtual host only inside an amqp:// URL (its path).
        "url": f"amqp://{host}{url.path}" if url.path.strip("/") else host,
        "port": url.port or 5672,
        "username": unquote(url.username or "guest"),
        "password": _ref(_PASSWORD_VARS["broker"]),
        "queues": [settings.rabbitmq_queue],
    }
    return broker


def endpoints(settings: Settings, var_dir: Path) -> dict[str, Any]:
    """The endpoints file's content. The action server's URL stays `${OPSDESK_ACTIONS_URL}`:
    each Rasa replica is given its own action server."""
    config: dict[str, Any] = {
        "action_endpoint": {"url": "${OPSDESK_ACTIONS_URL}"},
        "tracker_store": _tracker_store(settings, var_dir),
        "lock_store": _lock_store(settings),
    }
    broker = _event_broker(settings)
    if broker is not None:
        config["event_broker"] = broker
    return config


def write_endpoints(settings: Settings, var_dir: Path) -> Path:
    """Write var/rasa/endpoints.yml (replacing it atomically) and return its path."""
    folder = var_dir / "rasa"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "endpoints.yml"
    text = (
        "# Written by `opsdesk up` from the OPSDESK_* settings at each start; edits are lost.\n"
        + yaml.safe_dump(endpoints(settings, var_dir), sort_keys=False)
    )
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path


def rasa_env(settings: Settings) -> dict[str, str]:
    """Environment for every Rasa server: the passwords the endpoints file refers to, and
    the lifetime of its conversation locks."""
    env = {"TICKET_LOCK_LIFETIME": str(LOCK_LIFETIME_SECONDS)}
    tracker_url = tracker_database_url(settings)
    if tracker_url is not None and sa.make_url(tracker_url).password:
        env[_PASSWORD_VARS["tracker"]] = str(sa.make_url(tracker_url).password)
    if settings.redis_url and urlsplit(settings.redis_url).password:
        env[_PASSWORD_VARS["lock"]] = unquote(urlsplit(settings.redis_url).password or "")
    if settings.rabbitmq_url:
        env[_PASSWORD_VARS["broker"]] = unquote(urlsplit(settings.rabbitmq_url).password or "guest")
    return env
