"""Order verification, order status and cancellation against the real API."""

from __future__ import annotations

import uuid

import pytest
import requests
from action_testing import buttons, load_domain, make_tracker, run_action, slot_events, texts
from rasa_sdk.executor import CollectingDispatcher

from actions.api_client import RateLimited, get_client
from actions.orders import (
    ActionCancelOrder,
    ActionOrderStatus,
    ValidateCancelOrderForm,
    ValidateOrderVerificationForm,
)

pytestmark = pytest.mark.asyncio
VERIFY = ValidateOrderVerificationForm()


def api_limit_per_conversation(ops_api) -> int:
    """How many wrong proofs the API takes in a fresh conversation, asked of the API."""
    conversation = f"probe-{uuid.uuid4().hex[:8]}"
    for n in range(1, 50):
        r = requests.post(
            f"{ops_api.url}/api/v1/orders/lookup",
            json={
                "order_number": "99999990",
                "email": f"probe{n}@example.com",
                "conversation_id": conversation,
            },
            headers={"Authorization": f"Bearer {ops_api.service_key}"},
            timeout=5,
        )
        assert r.status_code == 404, r.text
        if r.json()["tries_left"] == 0:
            return n
    raise AssertionError("the API never ran out of tries")


async def test_order_number_and_email_in_one_message_verify_the_customer():
    tracker = make_tracker(
        text="where is order A-10001, email jane.doe@example.com",
        intent="order_status",
        entities={"order_number": "A-10001", "email": "jane.doe@example.com"},
        form="order_verification_form",
        activating=True,
        candidates={"order_number": "A-10001"},
    )
    dispatcher, events = await run_action(VERIFY, tracker)
    slots = slot_events(events)
    assert slots["verified_order"] == "10001"
    assert slots["order_number"] == "10001"
    assert slots["order_contact"] == "jane.doe@example.com"
    assert "Thanks, Jane!" in texts(dispatcher)


async def test_spaced_order_number_and_postal_code_verify():
    tracker = make_tracker(
        "new_conversation",
        text="94110",
        form="order_verification_form",
        requested_slot="order_contact",
        slots={"order_number": "10 001"},
    )
    _, events = await run_action(VERIFY, tracker)
    slots = slot_events(events)
    assert slots["order_contact"] == "94110"
    assert slots["verified_order"] == "10001"
    assert slots["postal_code"] == "94110"


async def test_wrong_email_counts_a_failure_and_asks_again():
    tracker = make_tracker(
        text="wrong@example.com",
        form="order_verification_form",
        requested_slot="order_contact",
        slots={"order_number": "10001"},
    )
    dispatcher, events = await run_action(VERIFY, tracker)
    slots = slot_events(events)
    assert slots["verification_failures"] == 1.0
    assert slots["order_number"] is None and slots["order_contact"] is None
    assert "couldn't find order #10001" in texts(dispatcher)
    assert not slots.get("handoff_offered")


async def test_the_bot_gives_up_exactly_when_the_api_has_no_tries_left(ops_api):
    """Contract: the limit is the API's. The bot keeps asking while the API's 404 says tries
    are left, offers a person on the answer that says none are, and the API then refuses
    even the right email in this conversation."""
    sender = f"test-limit-{uuid.uuid4().hex[:8]}"
    offered_at = None
    for attempt in range(1, 11):
        tracker = make_tracker(
            text=f"nope{attempt}@example.com",
            form="order_verification_form",
            requested_slot="order_contact",
            slots={"order_number": "10002", "verification_failures": float(attempt - 1)},
            sender_id=sender,
        )
        dispatcher, events = await run_action(VERIFY, tracker)
        slots = slot_events(events)
        assert slots["verification_failures"] == float(attempt)
        if slots.get("handoff_offered"):
            offered_at = attempt
            break
        assert "couldn't find order #10002" in texts(dispatcher)
    assert offered_at == api_limit_per_conversation(ops_api)
    assert slots["verification_blocked"] is True
    assert slots["handoff_reason"] == "verification_failed"
    assert events[-1] == {
        "event": "slot",
        "timestamp": None,
        "name": "requested_slot",
        "value": None,
    }
    assert {"title": "Talk to a person", "payload": "/human_handoff"} in buttons(dispatcher)
    with pytest.raises(RateLimited):
        await get_client().lookup_order("10002", conversation_id=sender, postal_code="10001")


async def test_once_blocked_a_new_request_is_not_verified_again():
    tracker = make_tracker(
        text="where is my order",
        intent="order_status",
        slots={"verification_failures": 3.0, "verification_blocked": True},
        form="order_verification_form",
        activating=True,
    )
    dispatcher, events = await run_action(VERIFY, tracker)
    assert slot_events(events)["handoff_offered"] is True
    assert "can't look up orders in this chat" in texts(dispatcher)


async def test_verified_customer_is_not_asked_again_for_another_order_under_the_same_email():
    # "and order 10003?" -- Jane verified 10001 with her email; 10003 is hers too.
    tracker = make_tracker(
        "jane_verified_10001",
        text="and order 10003?",
        intent="order_status",
        entities={"order_number": "10003"},
        form="order_verification_form",
        activating=True,
        candidates={"order_number": "10003", "order_contact": "jane.doe@example.com"},
    )
    dispatcher, events = await run_action(VERIFY, tracker)
    slots = slot_events(events)
    assert slots["verified_order"] == "10003"
    assert "order_contact" not in slots or slots["order_contact"] == "jane.doe@example.com"


async def test_another_order_under_a_different_email_is_verified_again_without_a_failure():
    tracker = make_tracker(
        "jane_verified_10001",
        text="what about 10002",
        intent="order_status",
        entities={"order_number": "10002"},
        form="order_verification_form",
        activating=True,
        candidates={"order_number": "10002", "order_contact": "jane.doe@example.com"},
    )
    dispatcher, events = await run_action(VERIFY, tracker)
    slots = slot_events(events)
    assert slots["order_contact"] is None
    assert "verification_failures" not in slots
    assert "isn't under the email address you gave me before" in texts(dispatcher)


async def test_other_order_without_a_number_asks_only_for_the_number():
    tracker = make_tracker(
        "jane_verified_10001",
        text="and my other order?",
        intent="order_status",
        form="order_verification_form",
        activating=True,
        candidates={"order_number": "10001", "order_contact": "jane.doe@example.com"},
    )
    _, events = await run_action(VERIFY, tracker)
    assert slot_events(events)["order_number"] is None


@pytest.mark.parametrize("typed", ["#010001", "order no. １０００１"])
async def test_leading_zeros_and_full_width_digits_name_the_same_order(typed):
    tracker = make_tracker(
        text=typed,
        form="order_verification_form",
        requested_slot="order_number",
        slots={"order_contact": "jane.doe@example.com"},
    )
    _, events = await run_action(VERIFY, tracker)
    slots = slot_events(events)
    assert slots["order_number"] == "10001"
    assert slots["verified_order"] == "10001"


async def test_bare_text_that_is_not_an_order_number_is_asked_again():
    tracker = make_tracker(
        text="my jacket", form="order_verification_form", requested_slot="order_number"
    )
    dispatcher, events = await run_action(VERIFY, tracker)
    assert slot_events(events)["order_number"] is None
    assert "doesn't look like an order number" in texts(dispatcher)


async def test_a_product_question_during_the_form_is_left_to_the_rules():
    tracker = make_tracker(
        text="do you ship to canada?",
        intent="product_faq",
        form="order_verification_form",
        requested_slot="order_number",
    )
    dispatcher, events = await run_action(VERIFY, tracker)
    assert events == [] and dispatcher.messages == []  # Rasa rejects the form, rules answer


async def test_shipped_order_status_gives_carrier_tracking_link_last_event_and_promised_date():
    dispatcher, events = await run_action(ActionOrderStatus(), make_tracker("jane_verified_10001"))
    text = texts(dispatcher)
    assert "Order #10001 is on its way with the carrier." in text
    assert "UPS, tracking number 1Z" in text and "https://" in text
    assert "Latest update" in text and "promised by" in text
    assert not slot_events(events).get("handoff_offered")


async def test_delayed_order_apologises_and_offers_a_person():
    tracker = make_tracker(
        slots={
            "order_number": "10002",
            "order_contact": "sam.lee@example.com",
            "verified_order": "10002",
        }
    )
    dispatcher, events = await run_action(ActionOrderStatus(), tracker)
    assert "sorry" in texts(dispatcher).lower()
    slots = slot_events(events)
    assert slots["handoff_offered"] is True and slots["handoff_reason"] == "delayed_order"


async def test_lost_order_offers_a_person_for_a_replacement_or_refund():
    tracker = make_tracker(
        slots={"order_number": "10009", "order_contact": "85001", "verified_order": "10009"}
    )
    dispatcher, events = await run_action(ActionOrderStatus(), tracker)
    assert "lost" in texts(dispatcher)
    assert slot_events(events)["handoff_reason"] == "lost_order"


async def test_backordered_order_names_the_restock_date():
    tracker = make_tracker(
        slots={
            "order_number": "10005",
            "order_contact": "priya.patel@example.com",
            "verified_order": "10005",
        }
    )
    dispatcher, events = await run_action(ActionOrderStatus(), tracker)
    assert "Recycled Puffer Jacket" in texts(dispatcher)
    assert "expected back around" in texts(dispatcher)
    assert slot_events(events)["handoff_reason"] == "backordered_order"


async def test_status_without_verification_offers_a_person():
    dispatcher, events = await run_action(ActionOrderStatus(), make_tracker())
    assert slot_events(events)["handoff_offered"] is True


async def test_cancel_form_asks_for_confirmation_only_when_the_order_can_be_cancelled():
    form = ValidateCancelOrderForm()
    cancellable = make_tracker(
        slots={"order_number": "10007", "verified_order": "10007", "order_can_cancel": True}
    )
    shipped = make_tracker("jane_verified_10001", slots={"order_can_cancel": False})
    domain = load_domain()
    asked = form.domain_slots(domain)
    assert asked == ["order_number", "order_contact", "cancel_confirmed"]  # bot/domain/orders.yml
    # The domain lists every slot in asking order; the form only leaves some out.
    assert await form.required_slots(asked, CollectingDispatcher(), cancellable, domain) == asked
    assert await form.required_slots(asked, CollectingDispatcher(), shipped, domain) == asked[:2]


async def test_confirmed_cancellation_cancels_the_order_through_the_api(staff):
    tracker = make_tracker(
        slots={
            "order_number": "10007",
            "order_contact": "mia.chen@example.com",
            "verified_order": "10007",
            "cancel_confirmed": True,
            "order_can_cancel": True,
        }
    )
    dispatcher, events = await run_action(ActionCancelOrder(), tracker)
    assert "Done: order #10007 is cancelled." in texts(dispatcher)
    assert staff.get("/orders/10007").json()["status"] == "cancelled"
    assert slot_events(events)["cancel_confirmed"] is None


async def test_shipped_order_is_not_cancelled_and_a_return_is_offered(staff):
    dispatcher, events = await run_action(ActionCancelOrder(), make_tracker("jane_verified_10001"))
    assert "can't be cancelled any more: it has already shipped" in texts(dispatcher)
    assert {"title": "Start a return", "payload": "/initiate_return"} in buttons(dispatcher)
    assert staff.get("/orders/10001").json()["status"] == "shipped"


async def test_declined_cancellation_leaves_the_order(staff):
    tracker = make_tracker(
        slots={
            "order_number": "10012",
            "order_contact": "33101",
            "verified_order": "10012",
            "cancel_confirmed": False,
        }
    )
    dispatcher, _ = await run_action(ActionCancelOrder(), tracker)
    assert "left order #10012 as it is" in texts(dispatcher)
    assert staff.get("/orders/10012").json()["status"] != "cancelled"


async def test_an_order_number_that_looks_like_a_zip_code_is_taken_as_the_order_number():
    # The NLU may tag "#10002" as a postal code too; asked for the number, it is the number.
    tracker = make_tracker(
        text="#10002",
        entities={"postal_code": "10002"},
        form="order_verification_form",
        requested_slot="order_number",
    )
    _, events = await run_action(VERIFY, tracker)
    slots = slot_events(events)
    assert slots["order_number"] == "10002"
    assert "order_contact" not in slots


async def test_a_postal_code_taken_for_an_order_number_is_used_as_the_postal_code():
    # Asked for the postal code of order 10002, the customer types 10001 (Sam's ZIP code).
    tracker = make_tracker(
        text="10001",
        entities={"order_number": "10001"},
        form="order_verification_form",
        requested_slot="order_contact",
        slots={"order_number": "10002"},
        candidates={"order_number": "10001"},
    )
    tracker.events.insert(0, {"event": "slot", "name": "order_number", "value": "10002"})
    dispatcher, events = await run_action(VERIFY, tracker)
    slots = slot_events(events)
    assert slots["order_number"] == "10002"
    assert slots["verified_order"] == "10002"
    assert "Thanks, Sam!" in texts(dispatcher)


async def test_order_number_then_zip_code_in_one_message_are_told_apart():
    tracker = make_tracker(
        text="I need to exchange the jeans from order 10003, 94110",
        intent="order_status",
        form="order_verification_form",
        activating=True,
        candidates={"order_number": "94110"},
    )
    tracker.latest_message["entities"] = [
        {"entity": "order_number", "value": "10003", "start": 40, "end": 45},
        {"entity": "order_number", "value": "94110", "start": 47, "end": 52},
        {"entity": "postal_code", "value": "10003", "start": 40, "end": 45},
    ]
    dispatcher, events = await run_action(VERIFY, tracker)
    slots = slot_events(events)
    assert slots["verified_order"] == "10003"
    assert slots["order_contact"] == "94110"


@pytest.mark.parametrize(
    ("number", "contact", "said", "handoff_reason"),
    [
        ("10001", "jane.doe@example.com", "it has already shipped", None),
        ("10003", "jane.doe@example.com", "it has already been delivered", None),
        ("10009", "ella.rossi@example.com", "it was lost in transit", "lost_order"),
    ],
)
async def test_why_an_order_cannot_be_cancelled_is_the_apis_reason(
    number, contact, said, handoff_reason
):
    """Contract: the reason the customer reads is the one the API gives for the order."""
    order = await get_client().lookup_order(
        number, conversation_id=f"test-{uuid.uuid4().hex[:8]}", email=contact
    )
    assert order["can_cancel"] is False
    assert order["cancel_refusal"]["reason"] == said
    tracker = make_tracker(
        slots={"order_number": number, "order_contact": contact, "verified_order": number}
    )
    dispatcher, events = await run_action(ActionCancelOrder(), tracker)
    assert "can't be cancelled" in texts(dispatcher)
    assert f": {order['cancel_refusal']['reason']}." in texts(dispatcher)
    assert slot_events(events).get("handoff_reason") == handoff_reason
