"""One conversation's messages are processed one at a time in the order they were stored,
also when they arrive at once; different conversations are processed concurrently; the
assistant being down or slow loses nothing and the customer is told."""

from __future__ import annotations

import asyncio
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from api.hub.hub import UNAVAILABLE_TEXT
from tests.hub.conftest import RASA_TIMEOUT, ChatCustomer, HubStore
from tests.hub.standin_rasa import StandInRasa

pytestmark = pytest.mark.anyio


async def test_quick_messages_of_one_customer_are_processed_one_at_a_time_in_order(
    hub: HubStore, rasa_up: StandInRasa
) -> None:
    rasa_up.delay = 0.05
    rasa_up.max_active_per_sender = 0
    customer = ChatCustomer(hub.store.base_url)
    session_id = await customer.connect()
    sent = [f"message {i}" for i in range(1, 11)]
    try:
        for text in sent:  # no waiting between them
            await customer.say(text)
        replies = [(await customer.next())["text"] for _ in sent]
    finally:
        await customer.close()
    assert replies == [f"echo: {t}" for t in sent]
    conversation = hub.conversation_of("socketio", session_id)
    assert rasa_up.messages_of(conversation["id"]) == sent
    assert rasa_up.max_active_per_sender == 1
    transcript = hub.transcript(conversation["id"])
    assert [m["text"] for m in transcript if m["direction"] == "inbound"] == sent
    # Each reply answers its own message, and the replies were stored in the same order.
    inbound = {m["id"]: m["text"] for m in transcript if m["direction"] == "inbound"}
    replies_stored = [m for m in transcript if m["direction"] == "outbound"]
    assert [(inbound[m["in_reply_to"]], m["text"]) for m in replies_stored] == [
        (t, f"echo: {t}") for t in sent
    ]


def test_rest_requests_sent_at_once_each_get_their_own_reply_in_stored_order(
    hub: HubStore, rasa_up: StandInRasa
) -> None:
    rasa_up.delay = 0.05
    rasa_up.max_active_per_sender = 0
    sender = f"rest-{uuid.uuid4().hex[:10]}"
    texts = [f"burst {i}" for i in range(8)]
    with ThreadPoolExecutor(len(texts)) as pool:
        answers = list(pool.map(lambda t: hub.rest(sender, t), texts))
    assert answers == [[{"recipient_id": sender, "text": f"echo: {t}"}] for t in texts]
    conversation = hub.conversation_of("rest", sender)
    stored = [m["text"] for m in hub.transcript(conversation["id"]) if m["direction"] == "inbound"]
    assert sorted(stored) == sorted(texts)
    assert rasa_up.messages_of(conversation["id"]) == stored  # processed in stored order
    assert rasa_up.max_active_per_sender == 1


async def test_different_conversations_are_processed_concurrently(
    hub: HubStore, rasa_up: StandInRasa
) -> None:
    rasa_up.max_active = 0
    customers = [ChatCustomer(hub.store.base_url) for _ in range(6)]
    for customer in customers:
        await customer.connect()
    started = time.monotonic()
    try:
        for customer in customers:
            await customer.say("slow 0.4")
        for customer in customers:
            assert (await customer.next())["text"] == "echo: slow 0.4"
    finally:
        for customer in customers:
            await customer.close()
    elapsed = time.monotonic() - started
    assert rasa_up.max_active >= 3
    assert elapsed < 6 * 0.4, elapsed  # one after another would take 2.4 s


def test_assistant_down_keeps_the_message_tells_the_customer_and_offers_a_person(
    hub: HubStore, rasa_up: StandInRasa
) -> None:
    sender = f"rest-{uuid.uuid4().hex[:10]}"
    rasa_up.down = True
    replies = hub.rest(sender, "where is my order 10001?")
    assert replies == [
        {
            "recipient_id": sender,
            "text": UNAVAILABLE_TEXT,
            "buttons": [{"title": "Talk to a person", "payload": "/human_handoff"}],
        }
    ]
    conversation = hub.conversation_of("rest", sender)
    kept = hub.transcript(conversation["id"])[0]
    assert (kept["text"], kept["state"]) == ("where is my order 10001?", "unanswered")

    # The person offered is reached even though the assistant still is not.
    replies = hub.rest(sender, "/human_handoff")
    assert len(replies) == 1 and "support team" in replies[0]["text"]
    assert hub.conversation_of("rest", sender)["mode"] == "human"
    with hub.store.client("agent") as api:
        tickets = api.get("/api/v1/tickets", params={"conversation_id": conversation["id"]})
    [ticket] = tickets.json()["items"]
    assert ticket["reason"] == "system_unavailable" and ticket["status"] == "open"


def test_assistant_too_slow_is_answered_as_unavailable_in_bounded_time(
    hub: HubStore, rasa_up: StandInRasa
) -> None:
    sender = f"rest-{uuid.uuid4().hex[:10]}"
    rasa_up.delay = RASA_TIMEOUT + 1.0
    started = time.monotonic()
    replies = hub.rest(sender, "hello")
    elapsed = time.monotonic() - started
    assert [r["text"] for r in replies] == [UNAVAILABLE_TEXT]
    assert elapsed < RASA_TIMEOUT + 1.0, elapsed
    rasa_up.delay = 0.0
    assert hub.rest(sender, "hello again") == [
        {"recipient_id": sender, "text": "echo: hello again"}
    ]
    conversation = hub.conversation_of("rest", sender)
    states = [m["state"] for m in hub.transcript(conversation["id"]) if m["direction"] == "inbound"]
    assert states == ["unanswered", "answered"]


async def test_assistant_down_on_socketio_tells_the_customer_live(
    hub: HubStore, rasa_up: StandInRasa
) -> None:
    rasa_up.down = True
    customer = ChatCustomer(hub.store.base_url)
    await customer.connect()
    try:
        await customer.say("hi")
        event = await customer.next()
    finally:
        await customer.close()
    assert event["text"] == UNAVAILABLE_TEXT and event["metadata"]["author"] == "system"
    assert event["quick_replies"][0]["payload"] == "/human_handoff"
    await asyncio.sleep(0)
