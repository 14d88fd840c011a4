"""Mode switching with the real assistant, on SQLite and PostgreSQL: the api (hub), the
action server and `rasa run` with the trained model. A REST customer asks for a person; the
action server's ticket names the hub's conversation, which a person owns at once; the
assistant hears nothing while they do; the person's reply reaches the customer; resolving
the ticket restarts the assistant, which greets again and asks afresh."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from api import cli
from tests.conftest import Store, drop_store, free_port, new_store

GREETING_START = "Hi! I'm the Fernhill & Co. assistant."


@dataclass
class RealStack:
    store: Store
    api_url: str
    rasa_url: str

    def rest(self, sender: str, message: str) -> list[dict[str, Any]]:
        r = httpx.post(
            f"{self.api_url}/webhooks/rest/webhook",
            json={"sender": sender, "message": message},
            timeout=90,
        )
        assert r.status_code == 200, r.text
        assert all(x["recipient_id"] == sender for x in r.json())
        return r.json()

    def staff(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.api_url,
            headers={"Authorization": f"Bearer {self.store.keys['agent']}"},
            timeout=30,
        )

    def tracker_texts(self, conversation_id: str) -> list[str]:
        """What the assistant heard in this conversation (Rasa's HTTP API)."""
        tracker = httpx.get(
            f"{self.rasa_url}/conversations/{conversation_id}/tracker",
            params={"token": self.store.keys["rasa"]},
            timeout=30,
        )
        assert tracker.status_code == 200, tracker.text
        return [e.get("text") or "" for e in tracker.json()["events"] if e["event"] == "user"]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def real(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RealStack]:
    assert cli.train().exists()
    store = new_store(request.param, tmp_path_factory.mktemp(f"rasa-{request.param}"))
    overrides = {
        "OPSDESK_VAR_DIR": str(store.var_dir),
        "OPSDESK_DATABASE_URL": store.url,
        "OPSDESK_ADMIN_KEY": store.keys["admin"],
        "OPSDESK_SERVICE_KEY": store.keys["service"],
        "OPSDESK_AGENT_KEY": store.keys["agent"],
        "OPSDESK_RASA_TOKEN": store.keys.setdefault("rasa", secrets.token_urlsafe(24)),
    }
    ports = free_port(), free_port(), free_port()
    procs = cli.start_processes(
        *ports, env_overrides=overrides, log_dir=store.var_dir / "logs", timeout=240
    )
    store.base_url = f"http://127.0.0.1:{ports[0]}"
    try:
        yield RealStack(store, store.base_url, f"http://127.0.0.1:{ports[1]}")
    finally:
        cli.stop_processes(procs)
        drop_store(store)


def test_handoff_silence_agent_reply_and_handback_with_the_real_assistant(
    real: RealStack,
) -> None:
    sender = f"shopper-{uuid.uuid4().hex[:8]}"
    hello = real.rest(sender, "hi")
    assert hello and hello[0]["text"].startswith(GREETING_START)
    assert hello[0]["buttons"]  # the greeting's quick replies are delivered too

    # Start an order form, then ask for a person in the middle of it.
    asked = real.rest(sender, "where is my order?")
    assert "order number" in " ".join(r.get("text", "") for r in asked).lower()
    with real.staff() as api:
        listed = api.get("/api/v1/conversations", params={"channel": "rest", "limit": 200})
    [conversation] = [c for c in listed.json()["items"] if c["channel_key"] == sender]
    handoff = real.rest(sender, "I want to talk to a real person")
    with real.staff() as api:
        tickets = api.get("/api/v1/tickets", params={"conversation_id": conversation["id"]})
        if not tickets.json()["items"]:
            handoff = real.rest(sender, "yes")
            tickets = api.get("/api/v1/tickets", params={"conversation_id": conversation["id"]})
        [ticket] = tickets.json()["items"]
        assert ticket["channel"] == "rest"
        assert api.get(f"/api/v1/conversations/{conversation['id']}").json()["mode"] == "human"
    assert any("person" in r.get("text", "").lower() for r in handoff)

    # While a person owns the conversation the assistant hears nothing.
    assert real.rest(sender, "hello? anyone there?") == []
    assert "hello? anyone there?" not in real.tracker_texts(conversation["id"])

    with real.staff() as api:
        r = api.post(
            f"/api/v1/conversations/{conversation['id']}/messages",
            json={"text": "Hi, Alex here from the team. How can I help?"},
        )
        assert r.status_code == 201, r.text
    assert real.rest(sender, "my parcel is late") == [
        {"recipient_id": sender, "text": "Hi, Alex here from the team. How can I help?"}
    ]

    with real.staff() as api:
        r = api.patch(f"/api/v1/tickets/{ticket['id']}", json={"status": "resolved"})
        assert r.status_code == 200, r.text
        assert api.get(f"/api/v1/conversations/{conversation['id']}").json()["mode"] == "bot"

    # Back with the assistant: it greets again and has forgotten the old form.
    back = real.rest(sender, "where is my order?")
    texts = [r.get("text", "") for r in back]
    assert texts[0].startswith(GREETING_START), texts
    assert "order number" in " ".join(texts[1:]).lower(), texts
    # Rasa's tracker since its last restart: only what came after the handback.
    assert real.tracker_texts(conversation["id"]) == ["/greet", "where is my order?"]
    with real.staff() as api:
        transcript = api.get(
            f"/api/v1/conversations/{conversation['id']}/messages", params={"limit": 500}
        ).json()["items"]
    assert [m["state"] for m in transcript if m["text"] == "hello? anyone there?"] == ["queued"]
    assert {m["author"] for m in transcript} == {"customer", "bot", "agent"}
