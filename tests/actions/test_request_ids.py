"""Every call the actions make to the API carries the X-Request-ID of the customer's turn,
and the API writes it on its log lines, so one id finds everything a turn did."""

from __future__ import annotations

import hashlib
import json
import time

import pytest
from action_testing import make_tracker, run_action, slot_events, texts

from actions import api_client
from actions.handoff import ActionHandoff
from actions.orders import ValidateOrderVerificationForm
from actions.products import ActionCheckStock

pytestmark = pytest.mark.asyncio


def api_access_lines(
    ops_api, request_id: str, at_least: int = 1, routes: frozenset[str] = frozenset()
) -> list[dict]:
    """The API's access log lines (JSON, one per line) written for `request_id`; waits a
    little for `at_least` of them and for every one of `routes`, as each is written just
    after its answer is sent."""
    deadline = time.monotonic() + 15
    while True:
        lines = [
            json.loads(ln) for ln in ops_api.log.read_text().splitlines() if ln.startswith("{")
        ]
        found = [
            ln
            for ln in lines
            if ln.get("request_id") == request_id and ln["logger"] == "opsdesk.access"
        ]
        complete = len(found) >= at_least and routes <= {ln["route"] for ln in found}
        if complete or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def stock_question(sender_id: str):
    return make_tracker(
        text="do you have the organic tee in navy, medium?",
        intent="stock_availability",
        entities={"product": "organic tee", "colour": "navy", "size": "M"},
        sender_id=sender_id,
    )


async def test_the_calls_of_one_turn_share_its_request_id_and_the_next_turn_gets_another(
    ops_api,
):
    tracker = stock_question("request-id-stock-1")
    turn_id = api_client.request_id_for_turn(tracker)
    dispatcher, _ = await run_action(ActionCheckStock(), tracker)
    assert "Everyday Organic Tee in navy, M is in stock" in texts(dispatcher)

    wanted = frozenset({"/api/v1/products", "/api/v1/inventory/{sku}"})
    lines = api_access_lines(ops_api, turn_id, routes=wanted)
    assert wanted <= {ln["route"] for ln in lines}
    # The product was named: the message is searched once, its name not again.
    assert [ln["route"] for ln in lines].count("/api/v1/products") == 1
    # The id names the conversation (a hash of the sender, never the sender itself).
    conversation = hashlib.sha256(b"request-id-stock-1").hexdigest()[:12]
    assert turn_id.startswith(f"{conversation}-")
    assert "request-id-stock-1" not in ops_api.log.read_text()

    # The customer's next message in the same conversation is another turn.
    tracker.events.append({"event": "user", "text": "and in M?", "message_id": "m-2"})
    next_id = api_client.request_id_for_turn(tracker)
    assert next_id != turn_id and next_id.startswith(f"{conversation}-")
    await run_action(ActionCheckStock(), tracker)
    assert api_access_lines(ops_api, next_id)


async def test_the_hubs_request_id_in_the_message_metadata_is_passed_on(ops_api, staff):
    tracker = make_tracker(
        "jane_verified_10001",
        text="can I talk to a human",
        intent="human_handoff",
        sender_id="request-id-handoff-1",
    )
    latest_user = [e for e in tracker.events if e.get("event") == "user"][-1]
    latest_user["metadata"] = {"request_id": "hub-7f3a9c01", "channel": "web"}
    _, events = await run_action(ActionHandoff(), tracker)
    assert slot_events(events)["ticket_id"]

    [created] = api_access_lines(ops_api, "hub-7f3a9c01")
    assert (created["method"], created["route"], created["status"]) == (
        "POST",
        "/api/v1/tickets",
        201,
    )


async def test_a_malformed_id_in_the_metadata_is_not_sent_on(ops_api):
    tracker = stock_question("request-id-stock-2")
    latest_user = [e for e in tracker.events if e.get("event") == "user"][-1]
    latest_user["metadata"] = {"request_id": "two words\nand a newline"}
    turn_id = api_client.request_id_for_turn(tracker)
    assert turn_id != "two words\nand a newline"
    dispatcher, _ = await run_action(ActionCheckStock(), tracker)
    assert "in stock" in texts(dispatcher)  # the call was made, with the derived id
    assert api_access_lines(ops_api, turn_id)


async def test_the_verification_forms_lookup_carries_the_turns_id(ops_api):
    tracker = make_tracker(
        text="where is order 10001, email jane.doe@example.com",
        intent="order_status",
        entities={"order_number": "10001", "email": "jane.doe@example.com"},
        form="order_verification_form",
        activating=True,
        candidates={"order_number": "10001"},
        sender_id="request-id-verify-1",
    )
    turn_id = api_client.request_id_for_turn(tracker)
    _, events = await run_action(ValidateOrderVerificationForm(), tracker)
    assert slot_events(events)["verified_order"] == "10001"
    [lookup] = [
        ln for ln in api_access_lines(ops_api, turn_id) if ln["route"] == "/api/v1/orders/lookup"
    ]
    assert lookup["status"] == 200
