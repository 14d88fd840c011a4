"""Rasa's endpoints from OpsDesk's settings (api/rasa_profile.py): the zero-setup default, the
production profile, and the layouts refused because they would lose or reorder turns."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from api import rasa_profile
from api.launch import settings_for
from api.settings import REPO_ROOT

PRODUCTION = {
    "OPSDESK_DATABASE_URL": "postgresql+psycopg://opsdesk:s3cret@db.internal:6543/shop",
    "OPSDESK_REDIS_URL": "redis://:r3dis@cache.internal:6380/2",
    "OPSDESK_RABBITMQ_URL": "amqp://events:rabb1t@mq.internal:5673/analytics",
    "OPSDESK_RABBITMQ_QUEUE": "shop_events",
}


def test_default_is_sqlite_and_memory(tmp_path: Path) -> None:
    settings = settings_for({"OPSDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'ops.db'}"})
    config = yaml.safe_load(rasa_profile.write_endpoints(settings, tmp_path).read_text())
    assert config["tracker_store"] == {
        "type": "bot.tracker_store.OpsDeskTrackerStore",
        "dialect": "sqlite",
        "db": str(tmp_path / "rasa" / "tracker.db"),
    }
    assert config["lock_store"] == {"type": "in_memory"}
    assert "event_broker" not in config
    assert config["action_endpoint"]["url"] == "${OPSDESK_ACTIONS_URL}"


def test_production_profile_from_settings_alone_with_no_secret_in_the_file(
    tmp_path: Path,
) -> None:
    settings = settings_for(PRODUCTION)
    path = rasa_profile.write_endpoints(settings, tmp_path)
    text = path.read_text()
    for secret in ("s3cret", "r3dis", "rabb1t"):
        assert secret not in text
    config = yaml.safe_load(text)
    assert config["tracker_store"] == {
        "type": "bot.tracker_store.OpsDeskTrackerStore",
        "dialect": "postgresql",
        "url": "db.internal",
        "port": 6543,
        "db": "shop_tracker",
        "username": "opsdesk",
        "password": "${OPSDESK_RASA_TRACKER_PASSWORD}",
    }
    assert config["lock_store"] == {
        "type": "redis",
        "url": "cache.internal",
        "port": 6380,
        "db": 2,
        "key_prefix": "opsdesk",
        "password": "${OPSDESK_RASA_LOCK_PASSWORD}",
    }
    assert config["event_broker"] == {
        "type": "pika",
        "url": "amqp://mq.internal/analytics",
        "port": 5673,
        "username": "events",
        "password": "${OPSDESK_RASA_BROKER_PASSWORD}",
        "queues": ["shop_events"],
    }
    env = rasa_profile.rasa_env(settings)
    assert env["OPSDESK_RASA_TRACKER_PASSWORD"] == "s3cret"
    assert env["OPSDESK_RASA_LOCK_PASSWORD"] == "r3dis"
    assert env["OPSDESK_RASA_BROKER_PASSWORD"] == "rabb1t"


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({}, "OPSDESK_DATABASE_URL (PostgreSQL) and OPSDESK_REDIS_URL"),
        ({"OPSDESK_REDIS_URL": "redis://127.0.0.1:6379/0"}, "OPSDESK_DATABASE_URL (PostgreSQL)"),
        ({"OPSDESK_DATABASE_URL": PRODUCTION["OPSDESK_DATABASE_URL"]}, "OPSDESK_REDIS_URL"),
    ],
)
def test_replicas_without_shared_stores_are_refused(given: dict[str, str], missing: str) -> None:
    settings = settings_for(
        {"OPSDESK_DATABASE_URL": "sqlite:///x.db", **given, "OPSDESK_REPLICAS": "2"}
    )
    with pytest.raises(
        rasa_profile.ProfileError, match=missing.replace("(", r"\(").replace(")", r"\)")
    ):
        rasa_profile.check(settings)


def test_up_with_replicas_on_sqlite_says_why_and_starts_nothing(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "OPSDESK_VAR_DIR": str(tmp_path / "var"),
        "OPSDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'ops.db'}",
    }
    env.pop("OPSDESK_REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "up", "--replicas", "2"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "2 replicas need OPSDESK_DATABASE_URL (PostgreSQL) and OPSDESK_REDIS_URL" in done.stderr
    assert not (tmp_path / "ops.db").exists()  # nothing seeded
