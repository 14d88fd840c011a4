"""The whole system for end-to-end tests: the api, the action server and `rasa run` with the
trained model, on a fresh SQLite database; conversations go over Rasa's REST channel."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from api import cli
from api.stack import Process
from tests.conftest import REPO, free_port


@dataclass
class Stack:
    api_url: str
    rasa_url: str
    db_url: str
    admin_key: str
    procs: dict[str, Process]
    log_dir: Path

    def scalar(self, sql: str, **params: object) -> object:
        engine = sa.create_engine(self.db_url)
        try:
            with engine.connect() as conn:
                return conn.execute(sa.text(sql), params).scalar()
        finally:
            engine.dispose()


class Conversation:
    """One customer talking to the bot over the REST channel."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.sender = f"e2e-{uuid.uuid4().hex[:10]}"
        self.transcript: list[tuple[str, str]] = []

    def say(self, message: str) -> str:
        r = httpx.post(
            f"{self.stack.rasa_url}/webhooks/rest/webhook",
            json={"sender": self.sender, "message": message},
            timeout=60,
        )
        assert r.status_code == 200, r.text
        replies = r.json()
        assert all(x["recipient_id"] == self.sender for x in replies)
        text = "\n".join(x.get("text", "") for x in replies)
        buttons = [b for x in replies for b in x.get("buttons", [])]
        self.last_buttons = buttons
        self.transcript.append((message, text))
        assert text.strip(), f"the bot went silent after {message!r}: {self.transcript}"
        return text

    def button(self, contains: str) -> str:
        """Press the first button whose title contains `contains`."""
        for b in self.last_buttons:
            if contains.lower() in b["title"].lower():
                return self.say(b["payload"])
        raise AssertionError(f"no button with {contains!r} in {self.last_buttons}")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    model = cli.train()
    assert model.exists()
    var = tmp_path_factory.mktemp("e2e") / "var"
    db_url = f"sqlite:///{var / 'ops.db'}"
    keys = {
        "OPSDESK_ADMIN_KEY": secrets.token_urlsafe(24),
        "OPSDESK_SERVICE_KEY": secrets.token_urlsafe(24),
    }
    overrides = {"OPSDESK_VAR_DIR": str(var), "OPSDESK_DATABASE_URL": db_url, **keys}
    subprocess.run(
        [sys.executable, "-m", "api.cli", "seed"],
        cwd=REPO,
        check=True,
        env={**os.environ, **overrides},
        capture_output=True,
    )
    ports = free_port(), free_port(), free_port()
    procs = cli.start_processes(*ports, env_overrides=overrides, log_dir=var / "logs", timeout=240)
    yield Stack(
        api_url=f"http://127.0.0.1:{ports[0]}",
        rasa_url=f"http://127.0.0.1:{ports[1]}",
        db_url=db_url,
        admin_key=keys["OPSDESK_ADMIN_KEY"],
        procs=procs,
        log_dir=var / "logs",
    )
    cli.stop_processes(procs)


@pytest.fixture()
def chat(stack: Stack) -> Conversation:
    return Conversation(stack)
