"""Two replicas on loopback in the production profile: two Rasa servers (each with its action
server) sharing a PostgreSQL tracker store and a Redis lock store, publishing to RabbitMQ,
and two api processes sharing socket.io rooms and conversation locks through Redis. All on
the machine's own PostgreSQL, Redis and RabbitMQ; nothing stands in for them."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pika
import pytest

from api import cli, stack
from tests.conftest import Store, drop_store, free_port, new_store

REDIS_URL = os.environ.get("OPSDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RABBITMQ_URL = os.environ.get("OPSDESK_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
# A turn that moves to the other replica after a kill may wait for Rasa's lock on the
# conversation (api/rasa_profile.py LOCK_LIFETIME_SECONDS) before it runs.
RASA_TIMEOUT = 45


def require(url: str, default_port: int) -> None:
    """The engine must answer: CI machines run it, so a missing one fails, never skips."""
    parsed = httpx.URL(url)
    host, port = parsed.host or "127.0.0.1", parsed.port or default_port
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        pytest.fail(f"{url} is not reachable ({exc}); the scale tests need it")


@dataclass
class Cluster:
    store: Store
    api_urls: list[str]
    rasa_urls: list[str]
    token: str
    queue: str
    procs: dict[str, stack.Process]
    conversations: dict[str, str] = field(default_factory=dict)

    def rest(self, api: int, sender: str, text: str) -> list[dict[str, Any]]:
        r = httpx.post(
            f"{self.api_urls[api]}/webhooks/rest/webhook",
            json={"sender": sender, "message": text},
            timeout=RASA_TIMEOUT * 3,
        )
        assert r.status_code == 200, r.text
        return r.json()

    def staff(self, api: int) -> httpx.Client:
        return httpx.Client(
            base_url=self.api_urls[api],
            headers={"Authorization": f"Bearer {self.store.keys['agent']}"},
            timeout=30,
        )

    def conversation_of(self, sender: str, channel: str = "rest") -> str:
        with self.staff(0) as api:
            listed = api.get("/api/v1/conversations", params={"channel": channel, "limit": 200})
        assert listed.status_code == 200, listed.text
        [conversation] = [c for c in listed.json()["items"] if c["channel_key"] == sender]
        return str(conversation["id"])

    def messages(self, conversation_id: str) -> list[dict[str, Any]]:
        with self.staff(1) as api:
            r = api.get(f"/api/v1/conversations/{conversation_id}/messages", params={"limit": 200})
        assert r.status_code == 200, r.text
        return list(r.json()["items"])

    def tracker(self, replica: int, conversation_id: str) -> dict[str, Any]:
        r = httpx.get(
            f"{self.rasa_urls[replica]}/conversations/{conversation_id}/tracker",
            params={"token": self.token},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        return dict(r.json())


def texts(replies: list[dict[str, Any]]) -> str:
    return " ".join(str(r.get("text") or "") for r in replies)


# One cluster for the package: starting two replicas takes a minute or two.
@pytest.fixture(scope="package")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    require(REDIS_URL, 6379)
    require(RABBITMQ_URL, 5672)
    assert cli.train().exists()
    store = new_store("postgres", tmp_path_factory.mktemp("scale"))
    token = secrets.token_urlsafe(24)
    queue = f"opsdesk_test_{secrets.token_hex(6)}"
    overrides = {
        "OPSDESK_VAR_DIR": str(store.var_dir),
        "OPSDESK_DATABASE_URL": store.url,
        "OPSDESK_ADMIN_KEY": store.keys["admin"],
        "OPSDESK_SERVICE_KEY": store.keys["service"],
        "OPSDESK_AGENT_KEY": store.keys["agent"],
        "OPSDESK_REDIS_URL": REDIS_URL,
        "OPSDESK_RABBITMQ_URL": RABBITMQ_URL,
        "OPSDESK_RABBITMQ_QUEUE": queue,
        "OPSDESK_RASA_TOKEN": token,
        "OPSDESK_RASA_TIMEOUT_SECONDS": str(RASA_TIMEOUT),
    }
    apis, rasas, actions = ([free_port(), free_port()] for _ in range(3))
    procs = cli.start_processes(
        apis,
        rasas,
        actions,
        env_overrides=overrides,
        log_dir=store.var_dir / "logs",
        timeout=300,
        replicas=2,
    )
    try:
        yield Cluster(
            store=store,
            api_urls=[f"http://127.0.0.1:{p}" for p in apis],
            rasa_urls=[f"http://127.0.0.1:{p}" for p in rasas],
            token=token,
            queue=queue,
            procs=procs,
        )
    finally:
        cli.stop_processes(procs)
        delete_queue(queue)
        drop_store(store)


def rabbit() -> pika.BlockingConnection:
    return pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))


def delete_queue(queue: str) -> None:
    connection = rabbit()
    try:
        connection.channel().queue_delete(queue=queue)
    finally:
        connection.close()
