"""The whole system for end-to-end tests: the api, the action server and `rasa run` with the
trained model, on a fresh SQLite database; conversations go over Rasa's REST channel."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import FullSystem, full_system


class Stack(FullSystem):
    """The whole system, with a way to read the ops database directly."""

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
    with full_system(tmp_path_factory.mktemp("e2e") / "var") as system:
        yield Stack(**vars(system))


@pytest.fixture()
def chat(stack: Stack) -> Conversation:
    return Conversation(stack)
