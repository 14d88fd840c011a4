"""Handoff to a person: a ticket with what the bot learned, and an honest wait message."""

from __future__ import annotations

import pytest
from action_testing import make_tracker, run_action, slot_events, texts

from actions.handoff import ActionDeclineHandoff, ActionFallback, ActionHandoff

pytestmark = pytest.mark.asyncio


def tickets_for(staff, conversation_id):
    items = staff.get("/tickets", limit=200).json()["items"]
    return [t for t in items if t["conversation_id"] == conversation_id]


async def test_handoff_creates_a_ticket_with_the_summary_and_tells_the_customer_the_wait(staff):
    tracker = make_tracker(
        "jane_verified_10001", text="can I talk to a human", intent="human_handoff"
    )
    dispatcher, events = await run_action(ActionHandoff(), tracker)
    [ticket] = tickets_for(staff, tracker.sender_id)
    assert ticket["reason"] == "customer_request" and ticket["priority"] == "normal"
    assert ticket["order_number"] == "10001"
    assert ticket["customer_email"] == "jane.doe@example.com"
    assert "Verified order: #10001" in ticket["summary"]
    assert "human_handoff" in ticket["summary"]
    assert slot_events(events)["ticket_id"] == str(ticket["id"])
    assert any(w in texts(dispatcher) for w in ("agent", "email", "person", "team"))


async def test_complaint_gets_a_high_priority_ticket(staff):
    tracker = make_tracker(text="this is ridiculous, worst service ever", intent="complaint")
    dispatcher, _ = await run_action(ActionHandoff(), tracker)
    [ticket] = tickets_for(staff, tracker.sender_id)
    assert ticket["reason"] == "complaint" and ticket["priority"] == "high"
    assert "sorry" in texts(dispatcher).lower()


async def test_accepting_the_offer_for_a_lost_order_gives_a_high_priority_ticket(staff):
    tracker = make_tracker(
        text="yes",
        intent="affirm",
        slots={
            "order_number": "10009",
            "verified_order": "10009",
            "order_contact": "85001",
            "handoff_offered": True,
            "handoff_reason": "lost_order",
        },
    )
    _, events = await run_action(ActionHandoff(), tracker)
    [ticket] = tickets_for(staff, tracker.sender_id)
    assert ticket["reason"] == "lost_order" and ticket["priority"] == "high"
    assert slot_events(events)["handoff_offered"] is None


async def test_a_retried_handoff_queues_the_customer_once(staff):
    tracker = make_tracker(
        text="human please", intent="human_handoff", sender_id="test-retry-ticket"
    )
    await run_action(ActionHandoff(), tracker)
    await run_action(ActionHandoff(), tracker)
    assert len(tickets_for(staff, "test-retry-ticket")) == 1


async def test_declining_the_offer_clears_it():
    tracker = make_tracker(text="no thanks", intent="deny", slots={"handoff_offered": True})
    dispatcher, events = await run_action(ActionDeclineHandoff(), tracker)
    assert slot_events(events)["handoff_offered"] is None
    assert "anything else" in texts(dispatcher)


async def test_first_misunderstanding_asks_to_rephrase(staff):
    tracker = make_tracker(text="zzz qq", intent="nlu_fallback")
    dispatcher, events = await run_action(ActionFallback(), tracker)
    assert "say it another way" in texts(dispatcher)
    assert events == [] and tickets_for(staff, tracker.sender_id) == []


async def test_an_unclear_message_offers_its_likeliest_meanings_with_what_was_understood(staff):
    tracker = make_tracker(
        text="10482 hmm the thing never came back??",
        intent="nlu_fallback",
        entities={"order_number": "10482"},
        ranking={
            "nlu_fallback": 0.5,
            "return_status": 0.41,
            "greet": 0.3,
            "order_status": 0.22,
            "initiate_return": 0.05,
        },
    )
    dispatcher, events = await run_action(ActionFallback(), tracker)
    [message] = dispatcher.messages
    assert "Did you mean" in message["text"]
    assert [(b["title"], b["payload"]) for b in message["buttons"]] == [
        ("Check a return or refund", '/return_status{"order_number":"10482"}'),
        ("Track an order", '/order_status{"order_number":"10482"}'),
        ("Talk to a person", "/human_handoff"),
    ]
    assert events == [] and tickets_for(staff, tracker.sender_id) == []


async def test_second_misunderstanding_in_a_row_hands_over_to_a_person(staff):
    tracker = make_tracker("after_one_fallback", text="zzz qq", intent="nlu_fallback")
    dispatcher, _ = await run_action(ActionFallback(), tracker)
    [ticket] = tickets_for(staff, tracker.sender_id)
    assert ticket["reason"] == "bot_misunderstanding"
    assert "person" in texts(dispatcher)
