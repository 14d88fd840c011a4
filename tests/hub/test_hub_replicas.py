"""The hub's choice among Rasa servers (api/hub/replicas.py): a conversation stays on one
server, moves to the next when its server refuses the connection, and losing a server moves
only that server's conversations. The real two-replica cluster, with a replica killed, is in
tests/scale/."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from api.hub.rasa import RasaUnavailable, replies_after
from api.hub.replicas import RasaReplicas
from tests.conftest import free_port
from tests.hub.standin_rasa import StandInRasa


@pytest.fixture
def rasas() -> Iterator[list[StandInRasa]]:
    servers = [StandInRasa().start(), StandInRasa().start()]
    yield servers
    for server in servers:
        server.stop()


def test_a_conversation_keeps_its_server_and_losing_one_moves_only_its_own() -> None:
    urls = [f"http://127.0.0.1:{5005 + i}" for i in range(3)]
    three, two = RasaReplicas(urls, 5), RasaReplicas(urls[:2], 5)
    ids = [f"c-{uuid.uuid4().hex}" for _ in range(300)]
    homes = {c: three.order_for(c)[0].base_url for c in ids}
    assert homes == {c: three.order_for(c)[0].base_url for c in ids}  # stable
    assert {h: list(homes.values()).count(h) for h in urls} == pytest.approx(
        {h: 100 for h in urls}, abs=35
    )  # spread
    for c in ids:
        if homes[c] != urls[2]:
            assert two.order_for(c)[0].base_url == homes[c]  # the others stay where they were


def test_refused_connection_moves_the_turn_to_the_next_server(rasas: list[StandInRasa]) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    replicas = RasaReplicas([dead, rasas[0].url], 5)

    async def scenario() -> None:
        moved = 0
        for _ in range(10):
            conversation = f"c-{uuid.uuid4().hex}"
            first = replicas.order_for(conversation)[0].base_url
            replies = await replicas.turn(
                conversation_id=conversation, text="hi", metadata={}, message_id=1
            )
            assert replies[0].text == "echo: hi"
            moved += first == dead
        assert moved >= 1  # some conversations lived on the dead server, and were answered
        await replicas.close()

    asyncio.run(scenario())
    assert len(rasas[0].calls) == 10  # each turn handled once


def test_a_slow_server_is_not_bypassed(rasas: list[StandInRasa]) -> None:
    """A turn that only took too long may still be running: moving it could run it twice."""
    rasas[0].delay = rasas[1].delay = 2.0
    replicas = RasaReplicas([rasas[0].url, rasas[1].url], 0.5)

    async def scenario() -> None:
        with pytest.raises(RasaUnavailable):
            await replicas.turn(conversation_id="c-slow", text="hi", metadata={}, message_id=1)
        await replicas.close()

    asyncio.run(scenario())
    assert len(rasas[0].calls) + len(rasas[1].calls) == 1


def test_replies_already_stored_are_found_in_the_tracker() -> None:
    events = [
        {"event": "user", "text": "hi", "metadata": {"hub_message_id": 6}},
        {"event": "bot", "text": "Hello"},
        {"event": "user", "text": "where is it", "metadata": {"hub_message_id": 7}},
        {"event": "action", "name": "order_verification_form"},
        {
            "event": "bot",
            "text": "Which order?",
            "data": {"buttons": [{"title": "A", "payload": "/a"}]},
        },
        {"event": "bot", "text": "Or ask a person", "data": {}},
    ]
    replies = replies_after(events, 7)
    assert replies is not None
    assert [r.text for r in replies] == ["Which order?", "Or ask a person"]
    assert replies[0].buttons == [{"title": "A", "payload": "/a"}]
    assert [r.text for r in replies_after(events, 6) or []] == ["Hello"]
    assert replies_after(events, 8) is None


def test_a_turn_moved_from_a_dead_server_may_wait_for_its_lock(rasas: list[StandInRasa]) -> None:
    """A server killed mid-turn leaves its lock on the conversation until the lock lapses: the
    next server waits that long before running the turn, and the hub waits with it instead
    of telling the customer the assistant is unavailable."""
    rasas[0].drops = True
    rasas[1].delay = 1.0  # the next server's wait for the dead one's lock
    urls = [rasas[0].url, rasas[1].url]
    ranking = RasaReplicas(urls, 5)
    conversation = next(  # one whose own server is the one that dies
        c
        for c in (f"c-{uuid.uuid4().hex}" for _ in range(200))
        if ranking.order_for(c)[0].base_url == urls[0]
    )

    async def scenario(lock_wait: float) -> list[str]:
        replicas = RasaReplicas(urls, 0.5, lock_wait=lock_wait)
        try:
            replies = await replicas.turn(
                conversation_id=conversation, text="hi", metadata={}, message_id=1
            )
            return [r.text or "" for r in replies]
        finally:
            await replicas.close()

    assert asyncio.run(scenario(lock_wait=2.0)) == ["echo: hi"]
    with pytest.raises(RasaUnavailable):  # without the lock's time the wait is cut short
        asyncio.run(scenario(lock_wait=0.0))
    assert [c.message for c in rasas[1].calls] == ["hi", "hi"]
    assert rasas[0].active[conversation] == 0
