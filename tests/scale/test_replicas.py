"""Two Rasa replicas and two api processes behave as one assistant and one hub: a
conversation's form carries on whichever replica takes the next turn, an agent's reply
written on one api process reaches a customer connected to the other, and every event
reaches RabbitMQ. The replica-loss test (test_then_a_replica_is_lost.py) runs after these."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import httpx

from api.hub.replicas import RasaReplicas
from tests.hub.chat_customer import ChatCustomer
from tests.hub.social_support import wait_until
from tests.scale.conftest import Cluster, rabbit, texts


def test_rasa_http_api_wants_the_token(cluster: Cluster) -> None:
    for url in cluster.rasa_urls:
        assert httpx.get(f"{url}/conversations/nobody/tracker", timeout=10).status_code == 401
        wrong = httpx.get(
            f"{url}/conversations/nobody/tracker", params={"token": "wrong"}, timeout=10
        )
        assert wrong.status_code == 401
        right = httpx.get(f"{url}/status", params={"token": cluster.token}, timeout=10)
        assert right.status_code == 200 and right.json()["model_file"]


def test_turns_alternating_between_replicas_keep_slots_and_form(cluster: Cluster) -> None:
    """Each turn goes to the other Rasa server; the order form goes on from the shared
    tracker store, and either server reads the same slots afterwards."""
    sender = f"alternating-{uuid.uuid4().hex[:8]}"
    turns = ["where is my order?", "10001", "jane.doe@example.com"]
    answers = []
    for i, text in enumerate(turns):
        r = httpx.post(
            f"{cluster.rasa_urls[i % 2]}/webhooks/rest/webhook",
            json={"sender": sender, "message": text},
            timeout=60,
        )
        assert r.status_code == 200, r.text
        answers.append(texts(r.json()))
    assert "order number" in answers[0].lower(), answers
    assert "email" in answers[1].lower() and "order number" not in answers[1].lower(), answers
    assert "UPS" in answers[2], answers
    for replica in (0, 1):
        slots = cluster.tracker(replica, sender)["slots"]
        assert slots["order_number"] == "10001"
        assert slots.get("requested_slot") is None  # the form finished, on both


def test_hub_spreads_conversations_and_keeps_each_on_one_replica(cluster: Cluster) -> None:
    """Conversations through the hub have homes on both replicas, and a form started through
    one api process is finished through the other."""
    replicas = RasaReplicas(cluster.rasa_urls, timeout=5)
    homes: dict[str, int] = {}
    while min(list(homes.values()).count(0), list(homes.values()).count(1)) < 2:
        assert len(homes) < 40, homes
        sender = f"spread-{uuid.uuid4().hex[:8]}"
        i = len(homes)
        assert "order number" in texts(cluster.rest(i % 2, sender, "where is my order?")).lower()
        assert "email" in texts(cluster.rest((i + 1) % 2, sender, "10001")).lower()
        assert "UPS" in texts(cluster.rest(i % 2, sender, "jane.doe@example.com"))
        home = replicas.order_for(cluster.conversation_of(sender))[0].base_url
        homes[sender] = cluster.rasa_urls.index(home)


def test_agent_reply_reaches_a_customer_on_the_other_api_process(cluster: Cluster) -> None:
    async def scenario() -> str:
        customer = ChatCustomer(cluster.api_urls[0])
        session_id = await customer.connect()
        try:
            await customer.say("hi")
            greeting = await customer.next(timeout=60)
            assert greeting["metadata"]["author"] == "bot"
            conversation_id = await asyncio.to_thread(
                cluster.conversation_of, session_id, "socketio"
            )
            with cluster.staff(1) as api:  # the other api process
                for n in (1, 2, 3):
                    r = api.post(
                        f"/api/v1/conversations/{conversation_id}/messages",
                        json={"text": f"Alex from the team here ({n})"},
                    )
                    assert r.status_code == 201, r.text
            got = []
            while len(got) < 3:
                event = await customer.next(timeout=20)
                if event["metadata"]["author"] == "agent":
                    got.append(event["text"])
            assert got == [f"Alex from the team here ({n})" for n in (1, 2, 3)]  # in order
            return conversation_id
        finally:
            await customer.close()

    conversation_id = asyncio.run(scenario())

    def agent_states() -> list[str]:
        return [m["state"] for m in cluster.messages(conversation_id) if m["author"] == "agent"]

    # The hub records a delivery run's outcomes in one transaction after the run, so the
    # customer can see the last reply a moment before the store says "sent".
    wait_until("the three replies recorded as sent", lambda: agent_states() == ["sent"] * 3, 10)


def test_reply_to_a_customer_connected_nowhere_stays_pending(cluster: Cluster) -> None:
    async def scenario() -> str:
        customer = ChatCustomer(cluster.api_urls[0])
        session_id = await customer.connect()
        await customer.say("hi")
        await customer.next(timeout=60)
        await customer.close()
        return session_id

    session_id = asyncio.run(scenario())
    time.sleep(1)  # the api process has seen the socket go
    conversation_id = cluster.conversation_of(session_id, "socketio")
    with cluster.staff(1) as api:
        r = api.post(
            f"/api/v1/conversations/{conversation_id}/messages", json={"text": "Still there?"}
        )
        assert r.status_code == 201, r.text
    time.sleep(2)
    [reply] = [m for m in cluster.messages(conversation_id) if m["author"] == "agent"]
    assert reply["state"] == "pending"  # nobody connected to any process: kept for later


def test_every_event_of_a_turn_reaches_rabbitmq(cluster: Cluster) -> None:
    sender = f"broker-{uuid.uuid4().hex[:8]}"
    cluster.rest(0, sender, "where is my order?")
    conversation_id = cluster.conversation_of(sender)
    seen: list[dict[str, object]] = []
    deadline = time.monotonic() + 30
    connection = rabbit()
    try:
        channel = connection.channel()
        while time.monotonic() < deadline:
            method, _props, body = channel.basic_get(queue=cluster.queue, auto_ack=True)
            if method is None:
                if any(e["event"] == "bot" for e in seen):
                    break
                time.sleep(0.2)
                continue
            event = json.loads(body)
            if event.get("sender_id") == conversation_id:
                seen.append(event)
    finally:
        connection.close()
    kinds = [e["event"] for e in seen]
    assert "user" in kinds and "bot" in kinds and "action" in kinds, kinds
    [user] = [e for e in seen if e["event"] == "user"]
    assert user["text"] == "where is my order?"
    assert user["metadata"]["hub_message_id"]  # type: ignore[index]
