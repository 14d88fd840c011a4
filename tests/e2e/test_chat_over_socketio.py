"""A website customer over socket.io through the hub, against the real api, action server and
trained model: order status, a return that creates an RMA, a handoff, a person's reply
arriving live while the assistant stays silent, and the handback to an assistant that starts
afresh. (Named to run before test_conversations.py, whose last test stops the api.)"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Stack
from tests.hub.chat_customer import ChatCustomer

pytestmark = pytest.mark.anyio

GREETING_START = "Hi! I'm the Fernhill & Co. assistant."


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Visitor:
    """A customer who waits for the assistant's whole answer to each message."""

    def __init__(self, stack: Stack) -> None:
        self.customer = ChatCustomer(stack.api_url)
        self.transcript: list[tuple[str, str]] = []
        self.buttons: list[dict[str, Any]] = []

    async def say(self, text: str, quiet: float = 1.5) -> str:
        await self.customer.say(text)
        events = [await self.customer.next(timeout=60)]
        while True:  # the answer is complete once no more comes for `quiet` seconds
            try:
                events.append(await self.customer.next(timeout=quiet))
            except TimeoutError:
                break
        answer = "\n".join(e.get("text", "") for e in events)
        self.buttons = [b for e in events for b in e.get("quick_replies", [])]
        self.transcript.append((text, answer))
        return answer

    async def button(self, contains: str) -> str:
        for b in self.buttons:
            if contains.lower() in b["title"].lower():
                return await self.say(b["payload"])
        raise AssertionError(f"no button with {contains!r} in {self.buttons}")


def staff(stack: Stack) -> httpx.Client:
    return httpx.Client(
        base_url=stack.api_url,
        headers={"Authorization": f"Bearer {stack.admin_key}"},
        timeout=30,
    )


def conversation_of(stack: Stack, session_id: str) -> dict[str, Any]:
    with staff(stack) as api:
        items = api.get("/api/v1/conversations", params={"channel": "socketio", "limit": 200})
    [conversation] = [c for c in items.json()["items"] if c["channel_key"] == session_id]
    return conversation


async def test_order_status_return_handoff_live_agent_reply_and_handback(stack: Stack) -> None:
    visitor = Visitor(stack)
    session_id = await visitor.customer.connect()
    try:
        # Order status, answered from the record.
        reply = await visitor.say("where is my order #10001? my email is jane.doe@example.com")
        if "tracking" not in reply.lower():
            reply = await visitor.say("jane.doe@example.com")
        assert "UPS" in reply, visitor.transcript
        conversation = conversation_of(stack, session_id)
        assert conversation["mode"] == "bot"

        # A return that creates an RMA (the jeans: test_conversations.py returns the linen
        # shirt of the same order on the same running system).
        reply = await visitor.say(
            "I want to return the selvedge jeans from order 10003, they're too big"
        )
        for _ in range(8):
            low = reply.lower()
            if re.search(r"RMA-\d{6}", reply):
                break
            if "shall i" in low or "confirm" in low:
                reply = await visitor.say("yes")
            elif "email" in low or "postal" in low:
                reply = await visitor.say("jane.doe@example.com")
            elif any("jeans" in b["title"].lower() for b in visitor.buttons):
                reply = await visitor.button("jeans")
            elif "refund" in low and ("exchange" in low or "credit" in low):
                reply = await visitor.say("refund please")
            elif "why" in low or "reason" in low:
                reply = await visitor.say("they're too big")
            elif "how many" in low:
                reply = await visitor.say("1")
            else:
                raise AssertionError(f"unexpected turn: {visitor.transcript}")
        rma = re.search(r"RMA-\d{6}", reply)
        assert rma, visitor.transcript
        assert stack.scalar(
            "SELECT conversation_id FROM rmas WHERE rma_number = :n", n=rma.group(0)
        ) in (conversation["id"], None)
        assert (
            stack.scalar(
                "SELECT count(*) FROM rmas r JOIN orders o ON o.id = r.order_id "
                "WHERE o.number = 10003 AND r.rma_number = :n",
                n=rma.group(0),
            )
            == 1
        )

        # A handoff: the ticket names the hub's conversation, which a person owns at once.
        reply = await visitor.say("I want to talk to a real person")
        if (
            stack.scalar(
                "SELECT count(*) FROM tickets WHERE conversation_id = :c", c=conversation["id"]
            )
            == 0
        ):
            reply = await visitor.say("yes")
        assert any(w in reply.lower() for w in ("person", "team")), visitor.transcript
        assert conversation_of(stack, session_id)["mode"] == "human"
        with staff(stack) as api:
            tickets = api.get("/api/v1/tickets", params={"conversation_id": conversation["id"]})
        [ticket] = [t for t in tickets.json()["items"] if t["status"] != "resolved"]
        assert ticket["channel"] == "socketio"

        # The assistant is silent while the person owns the conversation.
        await visitor.customer.say("hello? anyone there?")
        await visitor.customer.nothing_for(3.0)

        # The person's reply arrives live.
        with staff(stack) as api:
            r = api.post(
                f"/api/v1/conversations/{conversation['id']}/messages",
                json={"text": "Hi Jane, Alex here. What can I do for you?"},
            )
        assert r.status_code == 201, r.text
        live = await visitor.customer.next(timeout=10)
        assert live["text"] == "Hi Jane, Alex here. What can I do for you?"
        assert live["metadata"]["author"] == "agent"

        # Resolving hands back: the assistant greets again, then starts afresh.
        with staff(stack) as api:
            r = api.patch(f"/api/v1/tickets/{ticket['id']}", json={"status": "resolved"})
        assert r.status_code == 200, r.text
        greeting = await visitor.customer.next(timeout=30)
        assert greeting["text"].startswith(GREETING_START), greeting
        assert conversation_of(stack, session_id)["mode"] == "bot"
        reply = await visitor.say("where is my order?")
        assert "order number" in reply.lower(), visitor.transcript
    finally:
        await visitor.customer.close()

    with staff(stack) as api:
        transcript = api.get(
            f"/api/v1/conversations/{conversation['id']}/messages", params={"limit": 500}
        ).json()["items"]
    queued = [m for m in transcript if m["text"] == "hello? anyone there?"]
    assert [m["state"] for m in queued] == ["queued"]
    authors = {m["author"] for m in transcript}
    assert authors == {"customer", "bot", "agent"}
    assert all(m["state"] in ("answered", "queued", "sent") for m in transcript)
    await asyncio.sleep(0)
