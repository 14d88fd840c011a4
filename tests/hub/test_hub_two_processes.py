"""Two api processes on one PostgreSQL database and one Redis act as one hub (the stand-in
Rasa answers; tests/scale/ has the real assistant): one conversation's messages, written
to both processes at once, reach the assistant one at a time in the order they were stored,
each once, and each REST request gets its own answer whichever process handled it; a reply
written on one process reaches a socket.io customer connected to the other."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.conftest import Store, drop_store, new_store, start_api, stop_api
from tests.hub.chat_customer import ChatCustomer
from tests.hub.conftest import environment
from tests.hub.standin_rasa import StandInRasa
from tests.scale.conftest import REDIS_URL, require


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StandInRasa, Store, Store]]:
    require(REDIS_URL, 6379)
    rasa = StandInRasa().start()
    rasa.delay = 0.2  # long enough for turns to overlap if nothing kept them apart
    first = new_store("postgres", tmp_path_factory.mktemp("two-processes"))
    second = Store(first.backend, first.url, first.var_dir, dict(first.keys))
    with environment(
        OPSDESK_RASA_URL=rasa.url,
        OPSDESK_RASA_TIMEOUT_SECONDS="10",
        OPSDESK_REDIS_URL=REDIS_URL,
    ):
        start_api(first)
        second.var_dir = first.var_dir / "second"
        start_api(second)
    rasa.api_url, rasa.service_key = first.base_url, first.keys["service"]
    try:
        yield rasa, first, second
    finally:
        stop_api(second)
        stop_api(first)
        rasa.stop()
        drop_store(first)


def test_one_conversation_written_to_both_processes_stays_in_order(
    pair: tuple[StandInRasa, Store, Store],
) -> None:
    rasa, first, second = pair
    sender = f"both-{uuid.uuid4().hex[:8]}"
    texts = [f"message {n}" for n in range(8)]

    def send(n: int) -> list[str]:
        api = (first, second)[n % 2]
        r = httpx.post(
            f"{api.base_url}/webhooks/rest/webhook",
            json={"sender": sender, "message": texts[n]},
            timeout=60,
        )
        assert r.status_code == 200, r.text
        return [x["text"] for x in r.json()]

    with ThreadPoolExecutor(len(texts)) as pool:
        answers = list(pool.map(send, range(len(texts))))

    with first.client("agent") as api:
        listed = api.get("/api/v1/conversations", params={"channel": "rest", "limit": 200}).json()
        [conversation] = [c for c in listed["items"] if c["channel_key"] == sender]
        messages = api.get(
            f"/api/v1/conversations/{conversation['id']}/messages", params={"limit": 200}
        ).json()["items"]
    stored = [m["text"] for m in messages if m["direction"] == "inbound"]
    assert sorted(stored) == texts  # each stored once
    assert rasa.messages_of(conversation["id"]) == stored  # processed once each, in that order
    assert rasa.max_active_per_sender == 1  # never two turns of it at once, across processes
    for n, answer in enumerate(answers):
        assert f"echo: {texts[n]}" in answer  # every request got its own answer


def test_reply_written_on_one_process_reaches_a_customer_on_the_other(
    pair: tuple[StandInRasa, Store, Store],
) -> None:
    _rasa, first, second = pair

    async def scenario() -> None:
        customer = ChatCustomer(first.base_url)
        session_id = await customer.connect()
        try:
            await customer.say("hello")
            assert (await customer.next(timeout=20))["text"] == "echo: hello"
            with second.client("agent") as api:
                listed = api.get(
                    "/api/v1/conversations", params={"channel": "socketio", "limit": 200}
                ).json()
                [conversation] = [c for c in listed["items"] if c["channel_key"] == session_id]
                for n in range(3):
                    r = api.post(
                        f"/api/v1/conversations/{conversation['id']}/messages",
                        json={"text": f"from the team {n}"},
                    )
                    assert r.status_code == 201, r.text
            got = [(await customer.next(timeout=20))["text"] for _ in range(3)]
            assert got == [f"from the team {n}" for n in range(3)]
        finally:
            await customer.close()

    asyncio.run(scenario())
