"""Bot and human mode: the assistant's handoff gives the conversation to a person at once,
the assistant is silent while the person owns it, the person's replies reach the customer
on their channel, and resolving the ticket hands back to an assistant that greets afresh."""

from __future__ import annotations

import uuid

import pytest

from tests.hub.conftest import ChatCustomer, HubStore
from tests.hub.social_support import wait_until
from tests.hub.standin_rasa import GREETING, StandInRasa

pytestmark = pytest.mark.anyio


def open_ticket_of(hub: HubStore, conversation_id: str) -> dict:
    with hub.store.client("agent") as api:
        tickets = api.get("/api/v1/tickets", params={"conversation_id": conversation_id}).json()
    open_ones = [t for t in tickets["items"] if t["status"] != "resolved"]
    assert len(open_ones) == 1, tickets
    return open_ones[0]


async def test_handoff_silent_bot_live_agent_reply_and_handback_on_socketio(
    hub: HubStore, rasa_up: StandInRasa
) -> None:
    customer = ChatCustomer(hub.store.base_url)
    session_id = await customer.connect()
    try:
        await customer.say("a person please")
        assert (await customer.next())["text"] == "Sure, I'm bringing in a person from our team."
        wait = await customer.next()  # what the ticket says about the wait
        assert wait["metadata"]["mode"] == "human"  # the widget can say a person will answer
        conversation = hub.conversation_of("socketio", session_id)
        assert conversation["mode"] == "human"
        ticket = open_ticket_of(hub, conversation["id"])

        # The assistant is silent while a person owns the conversation.
        await customer.say("hello? anyone there?")
        await customer.nothing_for(1.0)
        assert rasa_up.messages_of(conversation["id"]) == ["a person please"]
        waiting = hub.transcript(conversation["id"])[-1]
        assert (waiting["text"], waiting["state"]) == ("hello? anyone there?", "queued")

        # The agent's reply arrives live, marked as a person's.
        with hub.store.client("agent") as api:
            r = api.post(
                f"/api/v1/conversations/{conversation['id']}/messages",
                json={"text": "Hi, this is Alex. I'm looking at it now."},
            )
        assert r.status_code == 201, r.text
        live = await customer.next()
        assert live["text"] == "Hi, this is Alex. I'm looking at it now."
        assert live["metadata"]["author"] == "agent" and live["metadata"]["agent_name"]
        assert live["metadata"]["message_id"] == r.json()["id"]

        # Resolving hands back: Rasa forgets the old conversation, then greets.
        with hub.store.client("agent") as api:
            r = api.patch(f"/api/v1/tickets/{ticket['id']}", json={"status": "resolved"})
        assert r.status_code == 200, r.text
        greeting = await customer.next()
        assert greeting["text"] == GREETING and greeting["metadata"]["author"] == "bot"
        assert greeting["metadata"]["mode"] == "bot"
        assert rasa_up.messages_of(conversation["id"])[-2:] == ["/restart", "/greet"]
        assert hub.conversation_of("socketio", session_id)["mode"] == "bot"

        await customer.say("and now?")
        assert (await customer.next())["text"] == "echo: and now?"
    finally:
        await customer.close()
    states = {m["id"]: m["state"] for m in hub.transcript(conversation["id"])}
    assert r.json()["status"] == "resolved"
    assert all(s in ("answered", "queued", "sent") for s in states.values()), states


def test_rest_customer_gets_the_agents_reply_with_the_next_answer(
    hub: HubStore, rasa_up: StandInRasa
) -> None:
    sender = f"rest-{uuid.uuid4().hex[:10]}"
    replies = hub.rest(sender, "a person please")
    assert replies[0]["text"] == "Sure, I'm bringing in a person from our team."
    conversation = hub.conversation_of("rest", sender)
    assert conversation["mode"] == "human"
    assert hub.rest(sender, "hello?") == []  # the assistant is silent

    with hub.store.client("agent") as api:
        r = api.post(
            f"/api/v1/conversations/{conversation['id']}/messages", json={"text": "Alex here."}
        )
    assert r.status_code == 201 and r.json()["state"] == "pending"
    assert hub.rest(sender, "still there?") == [{"recipient_id": sender, "text": "Alex here."}]
    assert rasa_up.messages_of(conversation["id"]) == ["a person please"]
    agent_reply = [m for m in hub.transcript(conversation["id"]) if m["author"] == "agent"]
    assert [m["state"] for m in agent_reply] == ["sent"]


def test_agent_reply_to_an_unknown_conversation_is_404(hub: HubStore) -> None:
    with hub.store.client("agent") as api:
        r = api.post("/api/v1/conversations/c-nope/messages", json={"text": "hi"})
    assert r.status_code == 404 and r.json()["code"] == "conversation_not_found"


async def test_an_agent_reply_written_while_the_customer_is_away_arrives_on_return(
    hub: HubStore, rasa_up: StandInRasa
) -> None:
    customer = ChatCustomer(hub.store.base_url)
    session_id = await customer.connect()
    await customer.say("a person please")
    await customer.next()
    await customer.next()
    await customer.close()
    conversation = hub.conversation_of("socketio", session_id)

    with hub.store.client("agent") as api:
        r = api.post(
            f"/api/v1/conversations/{conversation['id']}/messages",
            json={"text": "Sorry for the wait: your parcel is on its way."},
        )
    assert r.status_code == 201
    reply_id = r.json()["id"]
    # Nobody listening: kept pending, not lost and not marked sent.
    pending = [m for m in hub.transcript(conversation["id"]) if m["id"] == reply_id]
    assert pending[0]["state"] == "pending"

    back = ChatCustomer(hub.store.base_url)
    await back.connect(session_id)
    try:
        event = await back.next()
        assert event["text"] == "Sorry for the wait: your parcel is on its way."
        assert event["metadata"]["message_id"] == reply_id
    finally:
        await back.close()
    # The delivery run records its outcome just after the emit.
    wait_until(
        "the reply recorded as sent",
        lambda: (
            [m["state"] for m in hub.transcript(conversation["id"]) if m["id"] == reply_id]
            == ["sent"]
        ),
        10,
    )


def test_conversations_list_pages_and_filters_by_mode(hub: HubStore, rasa_up: StandInRasa) -> None:
    senders = [f"rest-{uuid.uuid4().hex[:10]}" for _ in range(3)]
    for sender in senders:
        hub.rest(sender, "hi")
    hub.rest(senders[0], "a person please")
    with hub.store.client("agent") as api:
        seen: list[str] = []
        params: dict = {"channel": "rest", "limit": 2}
        while True:
            page = api.get("/api/v1/conversations", params=params).json()
            assert len(page["items"]) <= 2
            seen += [c["channel_key"] for c in page["items"]]
            if not page["next_cursor"]:
                break
            params["cursor"] = page["next_cursor"]
        human = api.get("/api/v1/conversations", params={"mode": "human", "limit": 200}).json()
        bad = api.get("/api/v1/conversations", params={"cursor": "bm9wZQ"})
    assert len(seen) == len(set(seen)) and set(senders) <= set(seen)
    assert senders[0] in [c["channel_key"] for c in human["items"]]
    assert all(c["mode"] == "human" for c in human["items"])
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_cursor"


async def test_an_agent_takes_and_gives_back_a_conversation_without_a_ticket(
    hub: HubStore, rasa_up: StandInRasa
) -> None:
    customer = ChatCustomer(hub.store.base_url)
    session_id = await customer.connect()
    try:
        await customer.say("hi")
        assert (await customer.next())["text"] == "echo: hi"
        conversation = hub.conversation_of("socketio", session_id)
        with hub.store.client("agent") as api:
            taken = api.patch(f"/api/v1/conversations/{conversation['id']}", json={"mode": "human"})
            assert taken.status_code == 200 and taken.json()["mode"] == "human"
            await customer.say("is the bot gone?")
            await customer.nothing_for(1.0)
            given = api.patch(f"/api/v1/conversations/{conversation['id']}", json={"mode": "bot"})
            assert given.status_code == 200 and given.json()["mode"] == "bot"
            assert (
                api.patch(
                    f"/api/v1/conversations/{conversation['id']}", json={"mode": "away"}
                ).status_code
                == 422
            )
        assert (await customer.next())["text"] == GREETING
    finally:
        await customer.close()
    assert rasa_up.messages_of(conversation["id"]) == ["hi", "/restart", "/greet"]
