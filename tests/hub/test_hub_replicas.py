"""The hub's choice among Rasa servers (api/hub/replicas.py): a conversation stays on one
server, moves to the next when its server refuses the connection, and losing a server moves
only that server's conversations. The real two-replica cluster, with a replica killed, is in
tests/scale/."""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from prometheus_client import REGISTRY

from api.cli import RASA_BIN
from api.hub.rasa import RasaUnavailable, replies_after
from api.hub.rasa_locks import RasaLocks, latest_expiry, lock_key
from api.hub.replicas import RasaReplicas
from api.rasa_profile import LOCK_KEY_PREFIX
from tests.conftest import free_port
from tests.hub.standin_rasa import StandInRasa
from tests.scale.conftest import REDIS_URL, require


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


def rasa_takes_a_ticket(conversation_id: str, lifetime: float) -> float:
    """Rasa's own RedisLockStore (the Rasa environment) takes a ticket on the conversation, as
    a server does when a turn starts, and never gives it back (the server dies); the
    ticket's expiry."""
    url = urlsplit(REDIS_URL)
    code = (
        "import sys, time\n"
        "from rasa.core.lock_store import RedisLockStore\n"
        "s = RedisLockStore(host=sys.argv[1], port=int(sys.argv[2]), db=int(sys.argv[3]),"
        f" key_prefix={LOCK_KEY_PREFIX!r})\n"
        "s.issue_ticket(sys.argv[4], float(sys.argv[5]))\n"
        "print(max(t.expires for t in s.get_lock(sys.argv[4]).tickets))\n"
    )
    done = subprocess.run(
        [str(RASA_BIN / "python"), "-c", code, url.hostname or "127.0.0.1",
         str(url.port or 6379), url.path.strip("/") or "0", conversation_id, str(lifetime)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return float(done.stdout.strip().splitlines()[-1])


def test_the_hub_reads_the_tickets_rasa_writes() -> None:
    require(REDIS_URL, 6379)
    conversation = f"c-{uuid.uuid4().hex}"
    expires = rasa_takes_a_ticket(conversation, lifetime=1.5)

    async def scenario() -> float:
        locks = RasaLocks(REDIS_URL)
        try:
            assert latest_expiry(await locks.redis.get(lock_key(conversation))) == expires
            waited = await locks.wait_until_free(conversation)
            assert time.time() >= expires
            assert await locks.wait_until_free(f"c-{uuid.uuid4().hex}") == 0.0  # no lock
            await locks.redis.delete(lock_key(conversation))
            return waited
        finally:
            await locks.close()

    assert 0.5 < asyncio.run(scenario()) <= 1.6


def turn_with_rasas_locks(
    urls: list[str], conversation: str, text: str, message_id: int
) -> list[str]:
    """One turn through RasaReplicas reading Rasa's lock store; the lock removed after."""

    async def scenario() -> list[str]:
        replicas = RasaReplicas(urls, 5, locks=RasaLocks(REDIS_URL))
        try:
            replies = await replicas.turn(
                conversation_id=conversation, text=text, metadata={}, message_id=message_id
            )
            return [r.text or "" for r in replies]
        finally:
            await replicas.locks.redis.delete(lock_key(conversation))  # type: ignore[union-attr]
            await replicas.close()

    return asyncio.run(scenario())


def ids_homed_on(replicas: RasaReplicas, url: str, n: int) -> list[str]:
    """n new conversation ids whose own server is `url`."""
    found: list[str] = []
    while len(found) < n:
        conversation = f"c-{uuid.uuid4().hex}"
        if replicas.order_for(conversation)[0].base_url == url:
            found.append(conversation)
    return found


def test_a_turn_moved_from_a_dead_server_waits_for_its_ticket(rasas: list[StandInRasa]) -> None:
    """Rasa 3.6 loses a waiter whose own ticket expires together with the dead server's (it
    then waits forever): the hub sends the turn on only once the dead ticket has expired."""
    require(REDIS_URL, 6379)
    rasas[0].drops = True  # killed with the turn in hand
    urls = [rasas[0].url, rasas[1].url]
    ranking = RasaReplicas(urls, 5)
    [conversation] = ids_homed_on(ranking, urls[0], 1)  # its own server is the one that dies
    expires = rasa_takes_a_ticket(conversation, lifetime=1.0)

    wall, clock = time.time(), time.monotonic()  # the stand-in stamps calls on the clock
    assert turn_with_rasas_locks(urls, conversation, "hi", 1) == ["echo: hi"]
    assert [c.message for c in rasas[0].calls] == ["hi"]  # the dead one had it first
    assert [c.message for c in rasas[1].calls] == ["hi"]  # then the next, once
    sent_on = wall + (rasas[1].calls[0].started - clock)
    assert sent_on >= expires - 0.2


def test_the_next_turn_waits_for_a_dead_servers_ticket_too(rasas: list[StandInRasa]) -> None:
    """The turn after one whose server died (its answer found in the tracker, or the next
    message written to another api process) meets the dead server's ticket on a live server:
    it is sent only once the ticket has expired, else Rasa 3.6 could wait on it forever."""
    require(REDIS_URL, 6379)
    urls = [rasas[0].url, rasas[1].url]
    conversation = f"c-{uuid.uuid4().hex}"
    expires = rasa_takes_a_ticket(conversation, lifetime=1.0)

    wall, clock = time.time(), time.monotonic()  # the stand-in stamps calls on the clock
    assert turn_with_rasas_locks(urls, conversation, "next", 2) == ["echo: next"]
    [call] = [c for r in rasas for c in r.calls if c.message == "next"]
    assert wall + (call.started - clock) >= expires - 0.2  # not before the ticket expired


def test_turns_past_the_concurrency_wait_in_the_hub_not_in_rasa(
    rasas: list[StandInRasa],
) -> None:
    """Twelve conversations at once, three slots: Rasa never has more than three turns, and
    every turn is answered, each exactly once."""
    rasas[0].delay = 0.3
    replicas = RasaReplicas([rasas[0].url], 10, concurrency=3)

    async def scenario() -> list[str]:
        answers = await asyncio.gather(
            *(
                replicas.turn(conversation_id=f"c-{n}", text=f"m{n}", metadata={}, message_id=n)
                for n in range(12)
            )
        )
        await replicas.close()
        return [a[0].text for a in answers]

    started = time.monotonic()
    assert asyncio.run(scenario()) == [f"echo: m{n}" for n in range(12)]
    assert rasas[0].max_active == 3
    assert sorted(rasas[0].messages_of_all()) == sorted(f"m{n}" for n in range(12))
    assert time.monotonic() - started >= 4 * 0.3  # four rounds of three


def test_a_turn_that_gets_no_slot_in_time_is_busy_never_sent_and_not_moved(
    rasas: list[StandInRasa],
) -> None:
    """One slot, a 2 s budget: the second turn waits 1.5 s and is answered; the third would
    wait 3 s and is given up at 2 s, before anything reached any server."""
    replicas = RasaReplicas([rasas[0].url, rasas[1].url], 2.0, concurrency=1)
    first, second, third = ids_homed_on(replicas, rasas[0].url, 3)
    busy_before = REGISTRY.get_sample_value("opsdesk_assistant_busy_total") or 0.0

    async def turn(conversation: str, text: str, delay: float) -> list[str] | RasaUnavailable:
        await asyncio.sleep(delay)
        try:
            replies = await replicas.turn(
                conversation_id=conversation, text=text, metadata={}, message_id=1
            )
        except RasaUnavailable as exc:
            return exc
        return [r.text for r in replies]

    async def scenario() -> list[list[str] | RasaUnavailable]:
        outcomes = await asyncio.gather(
            turn(first, "slow 1.5", 0.0), turn(second, "slow 1.5", 0.05), turn(third, "hi", 0.1)
        )
        await replicas.close()
        return list(outcomes)

    one, two, three = asyncio.run(scenario())
    assert one == ["echo: slow 1.5"] and two == ["echo: slow 1.5"]
    assert isinstance(three, RasaUnavailable) and three.busy and not three.unreached
    assert rasas[0].messages_of(third) == [] and rasas[1].calls == []
    assert REGISTRY.get_sample_value("opsdesk_assistant_busy_total") == busy_before + 1
    assert REGISTRY.get_sample_value("opsdesk_assistant_turns_waiting") == 0
