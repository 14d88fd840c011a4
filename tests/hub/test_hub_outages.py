"""Redis or the database away for a moment (the api reaches it through a TCP relay that is cut
and restored) loses no customer message.

- Redis: a conversation whose worker could not take its shared lock goes again and answers
  the message with no further message from the customer; a chat customer's session is
  confirmed meanwhile. More Redis commands at once than a pool holds wait for a connection
  instead of failing (redis-py's own pool raises MaxConnectionsError past 100, which stopped
  workers and chat sessions at 200 customers).
- The database: a worker that could not store the assistant's answer goes again by itself
  once the database is back, and the message is answered, once."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
import redis.asyncio as aioredis
from redis.exceptions import MaxConnectionsError

from api.hub import cluster, redis_client
from tests.api.tcp_cut import CuttableRelay
from tests.conftest import Store, drop_store, new_store, start_api, stop_api
from tests.hub.chat_customer import ChatCustomer
from tests.hub.conftest import environment
from tests.hub.standin_rasa import StandInRasa
from tests.scale.conftest import REDIS_URL, require


def behind_relay(
    tmp: Path, url: str, setting: str
) -> Iterator[tuple[StandInRasa, Store, CuttableRelay]]:
    """An api (on its own PostgreSQL database, the stand-in Rasa answering) that reaches
    `url` (Redis, or the database itself when it is the store's) through a relay a test cuts."""
    store = new_store("postgres", tmp)
    url = url or store.url
    target = urlparse(url)
    relay = CuttableRelay((target.hostname or "127.0.0.1", target.port or 0))
    rasa = StandInRasa().start()
    env = {setting: url.replace(f"{target.hostname}:{target.port}", f"127.0.0.1:{relay.port}")}
    with environment(OPSDESK_RASA_URL=rasa.url, OPSDESK_RASA_TIMEOUT_SECONDS="10"):
        start_api(store, env)
    rasa.api_url, rasa.service_key = store.base_url, store.keys["service"]
    try:
        yield rasa, store, relay
    finally:
        stop_api(store)
        rasa.stop()
        relay.cut()
        drop_store(store)


@pytest.fixture(scope="module")
def redis_behind_relay(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[StandInRasa, Store, CuttableRelay]]:
    require(REDIS_URL, 6379)
    yield from behind_relay(tmp_path_factory.mktemp("redis-away"), REDIS_URL, "OPSDESK_REDIS_URL")


def inbound_states(store: Store, channel: str, key: str) -> list[tuple[str, str]]:
    with store.client("agent") as api:
        listed = api.get("/api/v1/conversations", params={"channel": channel, "limit": 200})
        found = [c for c in listed.json()["items"] if c["channel_key"] == key]
        if not found:
            return []
        messages = api.get(
            f"/api/v1/conversations/{found[0]['id']}/messages", params={"limit": 200}
        ).json()["items"]
    return [(m["text"], m["state"]) for m in messages if m["direction"] == "inbound"]


def test_a_message_whose_worker_met_redis_away_is_answered_once_redis_is_back(
    redis_behind_relay: tuple[StandInRasa, Store, CuttableRelay],
) -> None:
    rasa, store, relay = redis_behind_relay
    sender = f"gate-{uuid.uuid4().hex[:8]}"
    text = f"where is my parcel {sender}"
    answers: list[httpx.Response] = []

    def send() -> None:
        answers.append(
            httpx.post(
                f"{store.base_url}/webhooks/rest/webhook",
                json={"sender": sender, "message": text},
                timeout=90,
            )
        )

    relay.cut()
    request = threading.Thread(target=send)
    request.start()
    try:
        # Stored, and not processed while Redis is away.
        deadline = time.monotonic() + 20
        while not inbound_states(store, "rest", sender) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert inbound_states(store, "rest", sender) == [(text, "received")]
        time.sleep(2)  # the worker has failed at least once by now
        assert inbound_states(store, "rest", sender) == [(text, "received")]
        assert "worker stopped" in store.log_path.read_text()
    finally:
        relay.restore()
    request.join(timeout=120)

    # No second message: the worker went again by itself.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if inbound_states(store, "rest", sender) == [(text, "answered")]:
            break
        time.sleep(0.5)
    assert inbound_states(store, "rest", sender) == [(text, "answered")]
    assert [c.message for c in rasa.calls].count(text) == 1  # to the assistant once
    assert answers and answers[0].status_code == 200


def test_a_chat_session_is_confirmed_while_redis_is_away(
    redis_behind_relay: tuple[StandInRasa, Store, CuttableRelay],
) -> None:
    _rasa, store, relay = redis_behind_relay

    async def scenario() -> None:
        customer = ChatCustomer(store.base_url)
        relay.cut()
        try:
            await customer.connect()  # session_confirm within 10 s
        finally:
            relay.restore()
        try:
            await customer.say("hello after the gap")
            assert (await customer.next(timeout=60))["text"] == "echo: hello after the gap"
        finally:
            await customer.close()

    asyncio.run(scenario())


def test_more_commands_at_once_than_the_pool_holds_wait_for_a_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require(REDIS_URL, 6379)
    monkeypatch.setattr(redis_client, "REDIS_CONNECTIONS", 3)
    key = f"opsdesk:test:empty:{uuid.uuid4().hex}"

    async def twenty_at_once(client: aioredis.Redis) -> list[object]:
        try:
            # Each holds its connection 0.2 s (a pop on an empty list that times out).
            return await asyncio.gather(
                *(client.blpop([key], timeout=0.2) for _ in range(20)), return_exceptions=True
            )
        finally:
            await client.aclose()

    waited = asyncio.run(twenty_at_once(redis_client.redis_client(REDIS_URL)))
    assert waited == [None] * 20

    # redis-py's own pool with the same cap fails them: what the pool above is for.
    failed = asyncio.run(twenty_at_once(aioredis.from_url(REDIS_URL, max_connections=3)))
    assert any(isinstance(r, MaxConnectionsError) for r in failed)


@pytest.fixture(scope="module")
def database_behind_relay(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[StandInRasa, Store, CuttableRelay]]:
    yield from behind_relay(tmp_path_factory.mktemp("db-away"), "", "OPSDESK_DATABASE_URL")


def test_an_answer_the_database_could_not_take_is_had_again_once_it_is_back(
    database_behind_relay: tuple[StandInRasa, Store, CuttableRelay],
) -> None:
    rasa, store, relay = database_behind_relay
    text = f"is my order shipped {uuid.uuid4().hex[:8]}"
    states = "SELECT string_agg(state, ',') FROM messages WHERE direction = 'inbound' AND text = :t"
    rasa.delay = 2.0
    request = threading.Thread(
        target=lambda: httpx.post(
            f"{store.base_url}/webhooks/rest/webhook",
            json={"sender": f"db-{uuid.uuid4().hex[:8]}", "message": text},
            timeout=90,
        )
    )
    request.start()
    try:
        deadline = time.monotonic() + 20
        while text not in rasa.messages_of_all() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert text in rasa.messages_of_all()  # stored; the assistant is thinking
        relay.cut()  # ... and the database goes away before the answer is stored
        time.sleep(4)
        assert store.scalar(states, t=text) == "received"
        assert "worker stopped" in store.log_path.read_text()
    finally:
        rasa.delay = 0.0
        relay.restore()
    deadline = time.monotonic() + 60
    while store.scalar(states, t=text) != "answered" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert store.scalar(states, t=text) == "answered"  # with no further message
    replies = store.scalar(
        "SELECT count(*) FROM messages r JOIN messages m ON r.in_reply_to = m.id "
        "WHERE m.text = :t AND r.direction = 'outbound'",
        t=text,
    )
    assert replies == 1  # one answer stored, though the assistant was asked twice
    request.join(timeout=120)


def test_a_long_wait_for_a_shared_lock_names_its_holder(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    require(REDIS_URL, 6379)
    monkeypatch.setattr(cluster, "LOCK_WAIT_NOTE_SECONDS", 0.3)
    name = f"work:test-{uuid.uuid4().hex[:8]}"

    async def scenario() -> list[str]:
        holder, waiter = cluster.Cluster(REDIS_URL), cluster.Cluster(REDIS_URL)
        order: list[str] = []
        try:
            async with holder.lock(name):
                waiting = asyncio.ensure_future(take(waiter, order))
                await asyncio.sleep(1.0)
                order.append("released")
            await asyncio.wait_for(waiting, 10)
        finally:
            await holder.redis.aclose()
            await waiter.redis.aclose()
        return [holder.process_id, waiter.process_id, *order]

    async def take(waiter: cluster.Cluster, order: list[str]) -> None:
        async with waiter.lock(name):
            order.append("taken")

    with caplog.at_level("WARNING", logger="opsdesk.hub.cluster"):
        holder_id, waiter_id, *order = asyncio.run(scenario())
    assert order == ["released", "taken"]  # the waiter waited, then had it
    notes = [r.getMessage() for r in caplog.records if "waited" in r.getMessage()]
    assert notes and all(f"held by {holder_id}:" in n for n in notes)
    assert f"this process is {waiter_id}" in notes[0]
