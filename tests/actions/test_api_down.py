"""With the operations API down, every action answers plainly and offers help."""

from __future__ import annotations

import time

import pytest
from action_testing import make_tracker, run_action, slot_events, texts

from actions.api_client import ApiUnavailable, OpsApiClient
from actions.handoff import ActionHandoff
from actions.orders import ActionOrderStatus, ValidateOrderVerificationForm
from actions.products import ActionAnswerProductQuestion, ActionCheckStock, ActionOutOfScope
from actions.returns import ActionSubmitReturn

pytestmark = [pytest.mark.asyncio, pytest.mark.api_down]


@pytest.mark.parametrize(
    "action", [ActionOrderStatus(), ActionAnswerProductQuestion(), ActionCheckStock()]
)
async def test_action_says_the_system_is_unreachable_and_offers_a_ticket(action):
    tracker = make_tracker(
        "jane_verified_10001", text="do you have the puffer in M", entities={"product": "puffer"}
    )
    dispatcher, events = await run_action(action, tracker)
    assert "can't reach our store system" in texts(dispatcher)
    slots = slot_events(events)
    assert slots["handoff_offered"] is True and slots["handoff_reason"] == "system_unavailable"


async def test_verification_form_stops_and_offers_a_ticket():
    tracker = make_tracker(
        text="10001 jane.doe@example.com",
        form="order_verification_form",
        requested_slot="order_contact",
        slots={"order_number": "10001"},
    )
    dispatcher, events = await run_action(ValidateOrderVerificationForm(), tracker)
    assert "can't reach our store system" in texts(dispatcher)
    assert events[-1]["name"] == "requested_slot" and events[-1]["value"] is None


async def test_booking_a_return_says_so_and_clears_the_form():
    tracker = make_tracker(
        "jane_verified_10003",
        slots={
            "return_items": [{"sku": "LBS-WHITE-M", "quantity": 1}],
            "return_reason": "other",
            "resolution": "refund",
            "return_confirmed": True,
        },
    )
    dispatcher, events = await run_action(ActionSubmitReturn(), tracker)
    assert "can't reach our store system" in texts(dispatcher)
    assert slot_events(events)["return_items"] is None


async def test_handoff_without_the_api_points_to_the_support_email():
    tracker = make_tracker(text="human please", intent="human_handoff")
    dispatcher, events = await run_action(ActionHandoff(), tracker)
    assert "support@fernhill.example" in texts(dispatcher)
    assert slot_events(events)["handoff_offered"] is None


async def test_unreachable_api_fails_fast():
    started = time.monotonic()
    with pytest.raises(ApiUnavailable):
        await OpsApiClient().lookup_order("10001", conversation_id="t", email="a@b.co")
    assert time.monotonic() - started < 3


async def test_a_form_question_that_cannot_reach_the_api_ends_the_form():
    from actions.returns import ActionAskReturnItems

    dispatcher, events = await run_action(
        ActionAskReturnItems(), make_tracker("jane_verified_10003")
    )
    slots = slot_events(events)
    assert slots["handoff_offered"] is True and slots["requested_slot"] is None


async def test_out_of_scope_still_answers_plainly_without_the_api():
    tracker = make_tracker(text="how do i reset my password", intent="out_of_scope")
    dispatcher, events = await run_action(ActionOutOfScope(), tracker)
    assert [m.get("response") for m in dispatcher.messages] == ["utter_out_of_scope"]
    assert "handoff_offered" not in slot_events(events)
