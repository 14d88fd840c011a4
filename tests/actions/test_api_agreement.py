"""Rules the API owns and the actions only word, held together over the demo store: for each,
what the customer reads follows what the real API answers, so a drift between the two
processes fails here. (The others: cancellation and verification tries in test_orders.py,
resolutions and the one-item exchange in test_returns.py, nothing to return in
test_return_refusal.py, identifier formats in tests/test_ids.py.)"""

from __future__ import annotations

import uuid

import pytest
from action_testing import buttons, make_tracker, run_action, texts

from actions.api_client import get_client
from actions.orders import ActionOrderStatus
from actions.returns import ActionAskExchangeSku

pytestmark = pytest.mark.asyncio


def every_demo_order(staff) -> list[tuple[str, str]]:
    listed = staff.get("/orders", limit=100)
    assert listed.status_code == 200, listed.text
    orders = [(o["order_number"], o["customer_email"]) for o in listed.json()["items"]]
    assert len(orders) >= 13
    return orders


def verified(number: str, email: str, **more_slots):
    return make_tracker(
        slots={
            "order_number": number,
            "order_contact": email,
            "verified_order": number,
            **more_slots,
        }
    )


async def test_the_parcel_is_described_exactly_when_the_api_says_it_has_shipped(staff):
    """`shipped` (the parcel has left the warehouse) is the API's; the status answer names the
    carrier and tracking number for those orders only (a returned order's parcel is history)."""
    kinds = set()
    for number, email in every_demo_order(staff):
        order = await get_client().lookup_order(
            number, conversation_id=f"test-{uuid.uuid4().hex[:8]}", email=email
        )
        dispatcher, _ = await run_action(ActionOrderStatus(), verified(number, email))
        said = texts(dispatcher)
        assert said.startswith(f"Order #{number} is {order['status_text']}."), said
        tracking = [s["tracking_number"] for s in order["shipments"]]
        described = any(f"tracking {t}" in said or f"tracking number {t}" in said for t in tracking)
        expected = order["shipped"] and bool(tracking) and order["status"] != "returned"
        assert described == expected, (number, order["status"], said)
        kinds.add((order["status"], described))
    assert {described for _, described in kinds} == {True, False}


async def test_the_promised_date_is_given_exactly_while_the_api_says_delivery_is_awaited(staff):
    """Whether a delivery is still awaited is the API's (`awaiting_delivery`, the same settled
    statuses as `late`): the status answer repeats the promise for those orders only."""
    seen = set()
    for number, email in every_demo_order(staff):
        order = await get_client().lookup_order(
            number, conversation_id=f"test-{uuid.uuid4().hex[:8]}", email=email
        )
        promised = [s.get("promised_delivery_date") for s in order["shipments"]][-1:] or [None]
        if not (promised[0] or order.get("promised_delivery_date")) or not order["shipped"]:
            continue
        dispatcher, _ = await run_action(ActionOrderStatus(), verified(number, email))
        said = texts(dispatcher)
        if order["status"] == "returned":
            continue  # a returned order's parcel is history: no shipment lines at all
        assert ("It was promised by" in said) == order["awaiting_delivery"], (number, said)
        seen.add(order["awaiting_delivery"])
    assert seen == {True, False}  # the demo store has both kinds


async def test_the_sizes_and_colours_offered_for_an_exchange_are_the_apis_exchange_for():
    number, email = "10003", "jane.doe@example.com"
    jeans = {"sku": "SSJ-INDIGO-32", "quantity": 1}
    answer = await get_client().return_eligibility(
        number, [jeans], proof={"email": email}, resolution="exchange"
    )
    exchange_for = [v["sku"] for v in answer["lines"][0]["exchange_for"]]
    assert exchange_for and "SSJ-INDIGO-32" not in exchange_for
    tracker = verified(
        number,
        email,
        return_items=[{**jeans, "product_name": "Slim Selvedge Jeans"}],
        resolution="exchange",
    )
    dispatcher, _ = await run_action(ActionAskExchangeSku(), tracker)
    offered = [b["payload"].split('"')[3] for b in buttons(dispatcher)]
    assert offered == exchange_for[:12]
