"""The hub through the api process: REST and socket.io customers, the conversation each
message lands in, what the assistant sees, and the transcript the console reads."""

from __future__ import annotations

import uuid

import pytest

from tests.hub.conftest import ChatCustomer, HubStore
from tests.hub.standin_rasa import GREETING_BUTTONS, StandInRasa

pytestmark = pytest.mark.anyio


def new_sender() -> str:
    return f"rest-{uuid.uuid4().hex[:10]}"


def test_rest_message_is_answered_in_rasas_shape_and_stored_first(
    hub: HubStore, rasa_up: StandInRasa
) -> None:
    sender = new_sender()
    replies = hub.rest(sender, "where is my order?")
    assert replies == [{"recipient_id": sender, "text": "echo: where is my order?"}]

    conversation = hub.conversation_of("rest", sender)
    assert conversation["mode"] == "bot" and conversation["status"] == "open"
    # The assistant sees the hub's conversation id, never the key the client chose.
    assert conversation["id"] != sender
    calls = [c for c in rasa_up.calls if c.sender == conversation["id"]]
    assert [c.message for c in calls] == ["where is my order?"]
    assert calls[0].metadata["channel"] == "rest"
    assert not any(c.sender == sender for c in rasa_up.calls)

    transcript = hub.transcript(conversation["id"])
    assert [(m["direction"], m["author"], m["text"], m["state"]) for m in transcript] == [
        ("inbound", "customer", "where is my order?", "answered"),
        ("outbound", "bot", "echo: where is my order?", "sent"),
    ]
    assert transcript[1]["in_reply_to"] == transcript[0]["id"]
    assert transcript[1]["delivered_at"] is not None


def test_buttons_offered_and_chosen_are_in_the_transcript(
    hub: HubStore, rasa_up: StandInRasa
) -> None:
    sender = new_sender()
    replies = hub.rest(sender, "buttons")
    assert replies == [{"recipient_id": sender, "text": "Pick one", "buttons": GREETING_BUTTONS}]
    assert hub.rest(sender, "/order_status") == [
        {"recipient_id": sender, "text": "echo: /order_status"}
    ]
    conversation = hub.conversation_of("rest", sender)
    offered = hub.transcript(conversation["id"])[1]
    assert offered["payload"] == {"buttons": GREETING_BUTTONS}


def test_a_new_sender_is_a_new_conversation_and_a_known_one_continues(
    hub: HubStore, rasa_up: StandInRasa
) -> None:
    first, second = new_sender(), new_sender()
    hub.rest(first, "one")
    hub.rest(second, "two")
    hub.rest(first, "three")
    a, b = hub.conversation_of("rest", first), hub.conversation_of("rest", second)
    assert a["id"] != b["id"]
    assert rasa_up.messages_of(a["id"]) == ["one", "three"]
    assert rasa_up.messages_of(b["id"]) == ["two"]


async def test_socketio_session_is_confirmed_and_replies_come_back_live(
    hub: HubStore, rasa_up: StandInRasa
) -> None:
    customer = ChatCustomer(hub.store.base_url)
    session_id = await customer.connect()
    assert isinstance(session_id, str) and len(session_id) >= 16
    try:
        await customer.say("buttons")
        event = await customer.next()
        assert event["text"] == "Pick one" and event["metadata"]["author"] == "bot"
        # Only Rasa's keys at the top level: stock widgets paint nothing otherwise.
        assert set(event) == {"text", "quick_replies", "metadata"}
        assert event["quick_replies"] == [
            {"content_type": "text", "title": b["title"], "payload": b["payload"]}
            for b in GREETING_BUTTONS
        ]
        await customer.say("/order_status", button_title="Track my order")
        assert (await customer.next())["text"] == "echo: /order_status"
        acked = await customer.say_and_get_id("and one more")
        answer = await customer.next()
        assert answer["text"] == "echo: and one more" and answer["metadata"]["in_reply_to"] == acked
    finally:
        await customer.close()
    conversation = hub.conversation_of("socketio", session_id)
    transcript = hub.transcript(conversation["id"])
    assert transcript[2]["text"] == "/order_status"
    assert transcript[2]["payload"] == {"button_title": "Track my order"}
    assert event["metadata"]["message_id"] == transcript[1]["id"]
    assert all(m["state"] in ("answered", "sent") for m in transcript)


async def test_a_reload_resumes_the_conversation_of_its_session_id(
    hub: HubStore, rasa_up: StandInRasa
) -> None:
    first = ChatCustomer(hub.store.base_url)
    session_id = await first.connect()
    await first.say("before the reload")
    assert (await first.next())["text"] == "echo: before the reload"
    await first.close()

    again = ChatCustomer(hub.store.base_url)
    assert await again.connect(session_id) == session_id
    try:
        await again.say("after the reload")
        assert (await again.next())["text"] == "echo: after the reload"
    finally:
        await again.close()
    conversation = hub.conversation_of("socketio", session_id)
    assert rasa_up.messages_of(conversation["id"]) == ["before the reload", "after the reload"]


def test_the_customer_who_verifies_an_order_becomes_the_conversations_customer(
    hub: HubStore, rasa_up: StandInRasa
) -> None:
    sender = new_sender()
    hub.rest(sender, "hi")
    conversation = hub.conversation_of("rest", sender)
    assert conversation["customer_email"] is None
    with hub.store.client("service") as api:
        wrong = api.post(
            "/api/v1/orders/lookup",
            json={
                "conversation_id": conversation["id"],
                "order_number": "10001",
                "email": "someone@example.com",
            },
        )
        right = api.post(
            "/api/v1/orders/lookup",
            json={
                "conversation_id": conversation["id"],
                "order_number": "10001",
                "postal_code": "94110",
            },
        )
    assert wrong.status_code == 404 and right.status_code == 200
    assert hub.conversation_of("rest", sender)["customer_email"] == "jane.doe@example.com"


def test_the_kpis_count_the_hubs_conversations_and_escalations(
    hub: HubStore, rasa_up: StandInRasa
) -> None:
    with hub.store.client("admin") as api:
        before = api.get("/api/v1/metrics/kpis").json()["service"]
    hub.rest(new_sender(), "hi")
    hub.rest(new_sender(), "a person please")
    with hub.store.client("admin") as api:
        after = api.get("/api/v1/metrics/kpis").json()["service"]
    assert after["conversations"] == before["conversations"] + 2
    assert after["escalated_conversations"] == before["escalated_conversations"] + 1


async def test_a_socket_that_starts_another_session_no_longer_hears_the_first(
    hub: HubStore, rasa_up: StandInRasa
) -> None:
    customer = ChatCustomer(hub.store.base_url)
    first = await customer.connect()
    try:
        await customer.say("hi")
        assert (await customer.next())["text"] == "echo: hi"
        second = await customer.request_session()
        assert second != first
        conversation = hub.conversation_of("socketio", first)
        with hub.store.client("agent") as api:
            r = api.post(
                f"/api/v1/conversations/{conversation['id']}/messages", json={"text": "psst"}
            )
            assert r.status_code == 201
        await customer.nothing_for(1.0)
        await customer.say("new here")
        assert (await customer.next())["text"] == "echo: new here"
    finally:
        await customer.close()
    assert rasa_up.messages_of(hub.conversation_of("socketio", second)["id"]) == ["new here"]
