"""Whether anything on an order can be returned is the API's answer (the order document's
`return_refusal`); the return form only words it. Against the real API."""

from __future__ import annotations

import uuid

import pytest
from action_testing import buttons, make_tracker, run_action, slot_events, texts

from actions.api_client import get_client
from actions.common import PERSON_BUTTONS
from actions.returns import ActionAskReturnItems

pytestmark = pytest.mark.asyncio


def verified(number: str, email: str):
    return make_tracker(
        slots={"order_number": number, "order_contact": email, "verified_order": number}
    )


async def lookup(number: str, email: str) -> dict:
    return await get_client().lookup_order(
        number, conversation_id=f"test-{uuid.uuid4().hex[:8]}", email=email
    )


async def test_an_order_on_its_way_has_nothing_to_return_yet_in_the_apis_words():
    order = await lookup("10001", "jane.doe@example.com")
    assert order["return_refusal"]["code"] == "not_delivered"
    dispatcher, events = await run_action(
        ActionAskReturnItems(), verified("10001", "jane.doe@example.com")
    )
    said = texts(dispatcher)
    assert f"Order #10001 {order['return_refusal']['reason']}" in said
    assert "nothing to return yet" in said and order["status_text"] in said
    assert "cancel" not in said  # it has shipped: cancelling is not offered
    assert slot_events(events)["requested_slot"] is None


async def test_an_order_not_shipped_yet_may_be_cancelled_instead():
    order = await lookup("10013", "zoe.brown@example.com")
    assert order["can_cancel"] is True and order["return_refusal"]["code"] == "not_delivered"
    dispatcher, _ = await run_action(
        ActionAskReturnItems(), verified("10013", "zoe.brown@example.com")
    )
    assert "you can also cancel it" in texts(dispatcher)


async def test_a_lost_order_offers_a_person_instead_of_a_return():
    dispatcher, events = await run_action(
        ActionAskReturnItems(), verified("10009", "ella.rossi@example.com")
    )
    slots = slot_events(events)
    assert "was lost in transit, so there is nothing to send back" in texts(dispatcher)
    assert buttons(dispatcher) == PERSON_BUTTONS
    assert slots["handoff_reason"] == "lost_order" and slots["requested_slot"] is None


async def test_a_cancelled_order_has_nothing_to_send_back():
    dispatcher, events = await run_action(
        ActionAskReturnItems(), verified("10008", "noah.kim@example.com")
    )
    assert texts(dispatcher) == "Order #10008 was cancelled, so there is nothing to send back."
    assert "once it has arrived" not in texts(dispatcher).lower()
    assert slot_events(events)["requested_slot"] is None


async def test_the_return_form_goes_on_exactly_when_the_api_has_no_refusal(staff):
    """Contract, over every order of the demo store: the form asks which item when the API's
    document has no `return_refusal`, and stops with the API's reason when it has one."""
    listed = staff.get("/orders", limit=100)
    assert listed.status_code == 200, listed.text
    orders = listed.json()["items"]
    assert len(orders) >= 13
    seen = set()
    for summary in orders:
        number, email = summary["order_number"], summary["customer_email"]
        order = await lookup(number, email)
        refusal = order["return_refusal"]
        dispatcher, events = await run_action(ActionAskReturnItems(), verified(number, email))
        stopped = slot_events(events).get("requested_slot", "asked") is None
        said = texts(dispatcher)
        if refusal is None:
            assert not stopped or "already been returned" in said, (number, said)
        else:
            assert stopped, (number, said)
            assert said.startswith(f"Order #{number} {refusal['reason']}"), (number, said)
            assert (buttons(dispatcher) == PERSON_BUTTONS) == (refusal["next_step"] == "person")
            seen.add(refusal["code"])
    assert seen == {"not_delivered", "lost_in_transit", "order_cancelled"}
