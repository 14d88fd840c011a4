"""One order lookup per customer message: the verification form and the action that answers
share it; the next message, a write, or a failed proof go to the API again."""

from __future__ import annotations

import pytest
from action_testing import make_tracker, run_action, slot_events, texts
from rasa_sdk import Tracker

from actions import api_client
from actions.api_client import NotFound, get_client
from actions.orders import ActionOrderStatus, ValidateOrderVerificationForm

pytestmark = pytest.mark.asyncio


@pytest.fixture
def api_calls(monkeypatch) -> list[str]:
    """Every request the actions' client sends, as 'METHOD /path'."""
    client = get_client()
    calls: list[str] = []
    send = client._request

    async def counted(method, path, **kwargs):
        calls.append(f"{method} {path}")
        return await send(method, path, **kwargs)

    monkeypatch.setattr(client, "_request", counted)
    return calls


def email_answer(sender_id: str | None = None) -> Tracker:
    """The customer's email, the answer the verification form asked for."""
    return make_tracker(
        text="jane.doe@example.com",
        form="order_verification_form",
        requested_slot="order_contact",
        slots={"order_number": "10001"},
        candidates={"order_contact": "jane.doe@example.com"},
        sender_id=sender_id,
    )


def after_form(tracker: Tracker, form_events: list[dict]) -> Tracker:
    """The tracker Rasa sends to the next action of the same message: the form's slots set,
    the form ended."""
    events = [
        *tracker.events,
        *form_events,
        {"event": "active_loop", "name": None},
        {"event": "action", "name": "action_order_status"},
    ]
    slots = {**tracker.slots, **slot_events(form_events), "requested_slot": None}
    return Tracker(
        tracker.sender_id, slots, tracker.latest_message, events, False, None, {}, "action_listen"
    )


async def test_verify_then_status_of_one_message_ask_the_api_once(api_calls):
    message = email_answer()
    form_dispatcher, form_events = await run_action(ValidateOrderVerificationForm(), message)
    assert slot_events(form_events)["verified_order"] == "10001"
    assert "Thanks, Jane!" in texts(form_dispatcher)

    dispatcher, _ = await run_action(ActionOrderStatus(), after_form(message, form_events))

    assert "Order #10001 is on its way with the carrier." in texts(dispatcher)
    assert api_calls == ["POST /orders/lookup"]


async def test_the_next_message_looks_the_order_up_again(api_calls):
    first = email_answer()
    _, form_events = await run_action(ValidateOrderVerificationForm(), first)
    # "and where is it now?" a moment later: a new message of the same conversation.
    later = make_tracker(
        "jane_verified_10001", text="and where is it now?", sender_id=first.sender_id
    )

    dispatcher, _ = await run_action(ActionOrderStatus(), later)

    assert "Order #10001 is" in texts(dispatcher)
    assert api_calls == ["POST /orders/lookup", "POST /orders/lookup"]


async def test_a_write_forgets_the_kept_lookup(api_calls):
    client = get_client()
    api_client._turn_request_id.set("turn-write-test")
    proof = {"email": "jane.doe@example.com"}
    await client.lookup_order("10001", conversation_id="c-write", **proof)
    await client.lookup_order("10001", conversation_id="c-write", **proof)
    assert api_calls == ["POST /orders/lookup"]

    # 10001 has shipped: the API refuses, but the order may have changed as far as we know.
    with pytest.raises(api_client.Conflict):
        await client.cancel_order("10001", "test", proof=proof)
    await client.lookup_order("10001", conversation_id="c-write", **proof)

    assert api_calls == ["POST /orders/lookup", "POST /orders/10001/cancel", "POST /orders/lookup"]


async def test_a_failed_proof_is_never_kept_each_try_is_counted_by_the_api(api_calls):
    client = get_client()
    api_client._turn_request_id.set("turn-failure-test")
    tries = []
    for _ in range(2):
        with pytest.raises(NotFound) as missed:
            # An order no other test uses: the API counts failures per order number too.
            await client.lookup_order("99999977", conversation_id="c-fail", email="x@example.com")
        tries.append(missed.value.body["tries_left"])

    assert len(api_calls) == 2
    assert tries[1] == tries[0] - 1
