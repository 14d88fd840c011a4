"""The return form, booking the RMA, and return status against the real API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from action_testing import buttons, make_tracker, run_action, slot_events, texts

from actions.common import nice_date
from actions.returns import (
    ActionAskExchangeSku,
    ActionAskResolution,
    ActionAskReturnConfirmed,
    ActionAskReturnItems,
    ActionReturnStatus,
    ActionSubmitReturn,
    ValidateReturnForm,
    ValidateReturnStatusForm,
)
from actions.returns.shared import codes_of, why_not

pytestmark = pytest.mark.asyncio
REPO = Path(__file__).resolve().parents[2]
FORM = ValidateReturnForm()
LINEN = {
    "sku": "LBS-WHITE-M",
    "style": "LBS",
    "product_name": "Linen Button-Down Shirt",
    "size": "M",
    "colour": "white",
    "unit_price": "78.00",
    "quantity": 1,
}
JEANS = {
    "sku": "SSJ-INDIGO-32",
    "style": "SSJ",
    "product_name": "Slim Selvedge Jeans",
    "size": "32",
    "colour": "indigo",
    "unit_price": "128.00",
    "quantity": 1,
}


def pick(sku: str, quantity: str = "1", **kw):
    return make_tracker(
        "jane_verified_10003",
        text=f'/inform{{"sku": "{sku}"}}',
        entities={"sku": sku, "quantity": quantity},
        form="return_form",
        requested_slot="return_items",
        **kw,
    )


async def test_items_are_offered_as_buttons_with_their_returnable_quantity():
    dispatcher, events = await run_action(
        ActionAskReturnItems(), make_tracker("jane_verified_10003")
    )
    titles = [b["title"] for b in buttons(dispatcher)]
    assert "Linen Button-Down Shirt (white, M)" in titles
    assert "Everything" in titles
    assert events == []


async def test_partly_returned_line_offers_only_what_is_left():
    tracker = make_tracker(
        slots={
            "order_number": "10006",
            "order_contact": "lucas.martin@example.com",
            "verified_order": "10006",
        }
    )
    dispatcher, _ = await run_action(ActionAskReturnItems(), tracker)
    payloads = [b["payload"] for b in buttons(dispatcher)]
    assert payloads == ['/inform{"sku": "PHO-BLACK-L", "quantity": "1"}']


async def test_an_order_not_delivered_yet_ends_the_return_form():
    dispatcher, events = await run_action(
        ActionAskReturnItems(), make_tracker("jane_verified_10001")
    )
    assert "nothing to return yet" in texts(dispatcher)
    assert slot_events(events)["requested_slot"] is None


async def test_chosen_item_is_checked_for_eligibility_and_keeps_the_policy_options():
    _, events = await run_action(FORM, pick("LBS-WHITE-M"))
    slots = slot_events(events)
    assert [i["sku"] for i in slots["return_items"]] == ["LBS-WHITE-M"]
    assert codes_of(slots["return_options"]) == ["refund", "exchange", "store_credit"]
    assert slots.get("requested_slot") == "return_reason"


async def test_resolution_buttons_are_the_apis_options_with_the_policy_files_bonus():
    """Contract: the titles the customer reads are the API's, and the store-credit bonus is
    the one in data/store/return_policy.yml; the amounts follow the same policy."""
    policy = yaml.safe_load((REPO / "data" / "store" / "return_policy.yml").read_text())
    bonus = Decimal(str(policy["store_credit_bonus_percent"]))
    _, events = await run_action(FORM, pick("LBS-WHITE-M"))
    options = slot_events(events)["return_options"]
    by_code = {o["code"]: o for o in options}
    assert by_code["store_credit"]["title"] == f"Store credit ({bonus.normalize():f}% bonus)"
    fee = Decimal(str(policy["return_shipping_fee"]["refund"]))
    refund = Decimal(by_code["refund"]["amount"])
    assert refund == Decimal(LINEN["unit_price"]) - fee
    assert Decimal(by_code["store_credit"]["amount"]) == (
        Decimal(LINEN["unit_price"]) * (100 + bonus) / 100
    ).quantize(Decimal("0.01"))
    tracker = make_tracker(
        "jane_verified_10003", slots={"return_items": [LINEN], "return_options": options}
    )
    dispatcher, _ = await run_action(ActionAskResolution(), tracker)
    assert [b["title"] for b in buttons(dispatcher)] == [o["title"] for o in options]


async def test_final_sale_item_is_refused_with_the_policy_reason_and_a_person_offered():
    dispatcher, events = await run_action(FORM, pick("SLD-BLACK-S"))
    slots = slot_events(events)
    assert "final-sale" in texts(dispatcher)
    assert slots["return_items"] is None
    assert slots["handoff_offered"] is True and slots["handoff_reason"] == "return_not_eligible"
    assert events[-1]["name"] == "requested_slot" and events[-1]["value"] is None


async def test_return_outside_the_window_says_how_many_days_ago_it_was_delivered():
    tracker = make_tracker(
        slots={"order_number": "10004", "order_contact": "60614", "verified_order": "10004"},
        text="the sweater",
        form="return_form",
        requested_slot="return_items",
    )
    dispatcher, events = await run_action(FORM, tracker)
    assert "returns are accepted within 30 days" in texts(dispatcher)
    assert slot_events(events)["handoff_offered"] is True


async def test_everything_keeps_the_eligible_lines_and_names_the_refused_one():
    dispatcher, events = await run_action(FORM, pick("ALL"))
    slots = slot_events(events)
    assert sorted(i["sku"] for i in slots["return_items"]) == ["LBS-WHITE-M", "SSJ-INDIGO-32"]
    assert "Satin Slip Dress" in texts(dispatcher)
    assert "exchange" not in codes_of(slots["return_options"])  # the API: one item only
    assert (
        why_not(slots["return_options"], "exchange") == "an exchange works for one item at a time"
    )


async def test_typed_item_name_is_matched_to_the_order_line():
    tracker = make_tracker(
        "jane_verified_10003", text="the jeans", form="return_form", requested_slot="return_items"
    )
    _, events = await run_action(FORM, tracker)
    assert [i["sku"] for i in slot_events(events)["return_items"]] == ["SSJ-INDIGO-32"]


async def test_reason_in_words_becomes_a_reason_code():
    tracker = make_tracker(
        "jane_verified_10003",
        text="they're way too tight",
        form="return_form",
        requested_slot="return_reason",
        slots={"return_items": [LINEN]},
    )
    _, events = await run_action(FORM, tracker)
    assert slot_events(events)["return_reason"] == "size_too_small"


async def test_exchange_is_refused_when_the_policy_does_not_offer_it():
    _, events = await run_action(FORM, pick("ALL"))
    picked = slot_events(events)
    tracker = make_tracker(
        "jane_verified_10003",
        text="exchange",
        entities={"resolution": "exchange"},
        form="return_form",
        requested_slot="resolution",
        slots={"return_items": picked["return_items"], "return_options": picked["return_options"]},
        candidates={"resolution": "exchange"},
    )
    dispatcher, events = await run_action(FORM, tracker)
    assert slot_events(events)["resolution"] is None
    assert "one item at a time" in texts(dispatcher)


async def test_exchange_variants_offered_are_in_stock():
    tracker = make_tracker(
        "jane_verified_10003", slots={"return_items": [JEANS], "resolution": "exchange"}
    )
    dispatcher, _ = await run_action(ActionAskExchangeSku(), tracker)
    skus = [b["payload"].split('"')[3] for b in buttons(dispatcher)]
    assert skus and "SSJ-INDIGO-32" not in skus
    assert all(s.startswith("SSJ-") for s in skus)


async def test_exchange_size_is_checked_against_stock_and_style():
    base = dict(
        slots={
            "return_items": [JEANS],
            "resolution": "exchange",
            "return_options": ["refund", "exchange", "store_credit"],
        },
        form="return_form",
        requested_slot="exchange_sku",
    )
    ok = make_tracker("jane_verified_10003", text="34", entities={"size": "34"}, **base)
    _, events = await run_action(FORM, ok)
    assert slot_events(events)["exchange_sku"] == "SSJ-INDIGO-34"

    other_style = make_tracker(
        "jane_verified_10003", text="/inform", entities={"sku": "PUF-OLIVE-M"}, **base
    )
    dispatcher, events = await run_action(FORM, other_style)
    assert slot_events(events)["exchange_sku"] is None


async def test_exchange_with_the_new_size_in_the_same_answer_takes_it():
    tracker = make_tracker(
        "jane_verified_10003",
        text="exchange it for a 34",
        entities={"resolution": "exchange", "size": "34"},
        form="return_form",
        requested_slot="resolution",
        slots={"return_items": [JEANS], "return_options": ["refund", "exchange", "store_credit"]},
        candidates={"resolution": "exchange"},
    )
    _, events = await run_action(FORM, tracker)
    slots = slot_events(events)
    assert slots["resolution"] == "exchange"
    assert slots["exchange_sku"] == "SSJ-INDIGO-34"  # the colour kept as bought

    plain = make_tracker(
        "jane_verified_10003",
        text="an exchange please",
        entities={"resolution": "exchange"},
        form="return_form",
        requested_slot="resolution",
        slots={"return_items": [JEANS], "return_options": ["refund", "exchange", "store_credit"]},
        candidates={"resolution": "exchange"},
    )
    _, events = await run_action(FORM, plain)
    assert slot_events(events)["resolution"] == "exchange"
    assert "exchange_sku" not in slot_events(events)


async def test_summary_shows_items_fees_refund_and_deadline():
    tracker = make_tracker(
        "jane_verified_10003",
        slots={"return_items": [LINEN], "return_reason": "size_too_small", "resolution": "refund"},
    )
    dispatcher, events = await run_action(ActionAskReturnConfirmed(), tracker)
    summary = slot_events(events)["return_summary"]
    assert "1 × Linen Button-Down Shirt (white, M)" in summary
    assert "return shipping $6.95" in summary
    assert "Estimated refund: $71.05" in summary
    label_day = nice_date((datetime.now(UTC) + timedelta(days=14)).date().isoformat())
    assert f"the prepaid label is valid until {label_day}: please send it back by then" in summary
    assert {"title": "Yes, book it", "payload": "/affirm"} in buttons(dispatcher)


async def test_faulty_item_has_no_fees():
    tracker = make_tracker(
        "jane_verified_10003",
        slots={"return_items": [JEANS], "return_reason": "defective", "resolution": "refund"},
    )
    _, events = await run_action(ActionAskReturnConfirmed(), tracker)
    assert "Fees: none." in slot_events(events)["return_summary"]


async def test_confirmed_return_creates_one_rma_even_when_the_action_is_retried(staff):
    confirmed = dict(
        state="jane_verified_10003",
        slots={
            "return_items": [LINEN],
            "return_reason": "size_too_small",
            "resolution": "store_credit",
            "return_confirmed": True,
        },
        sender_id="test-retried-return",
    )
    before = staff.get("/returns", order_number="10003").json()["items"]
    dispatcher, events = await run_action(ActionSubmitReturn(), make_tracker(**confirmed))
    rma = slot_events(events)["rma_number"]
    assert rma and rma.startswith("RMA-")
    text = texts(dispatcher)
    assert f"Your return number is {rma}" in text
    assert "label" in text and "/labels/" in text
    assert slot_events(events)["return_items"] is None  # the form starts clean next time

    # The same confirmation again (a retry): same RMA, nothing new in the store.
    _, again = await run_action(ActionSubmitReturn(), make_tracker(**confirmed))
    assert slot_events(again)["rma_number"] == rma
    after = staff.get("/returns", order_number="10003").json()["items"]
    assert len(after) == len(before) + 1
    assert staff.get(f"/returns/{rma}").json()["resolution"] == "store_credit"


async def test_declined_summary_books_nothing(staff):
    before = staff.get("/returns", order_number="10011").json()["items"]
    tracker = make_tracker(
        slots={
            "order_number": "10011",
            "order_contact": "97201",
            "verified_order": "10011",
            "return_items": [
                {"sku": "FZH-GREY-L", "quantity": 1, "product_name": "Fleece Zip Hoodie"}
            ],
            "return_reason": "changed_mind",
            "resolution": "refund",
            "return_confirmed": False,
        }
    )
    dispatcher, events = await run_action(ActionSubmitReturn(), tracker)
    assert "haven't booked anything" in texts(dispatcher)
    assert staff.get("/returns", order_number="10011").json()["items"] == before


async def test_return_status_from_an_rma_number_gives_status_but_no_order_details():
    tracker = make_tracker(slots={"rma_number": "RMA-000005"})
    dispatcher, _ = await run_action(ActionReturnStatus(), tracker)
    text = texts(dispatcher)
    assert "Return RMA-000005 is on its way back to us." in text
    assert "10023" not in text  # order details only for the verified customer


async def test_rma_number_written_loosely_is_found():
    tracker = make_tracker(
        text="rma 5",
        intent="return_status",
        form="return_status_form",
        activating=True,
        candidates={"rma_number": "rma 5"},
    )
    _, events = await run_action(ValidateReturnStatusForm(), tracker)
    assert slot_events(events)["rma_number"] == "RMA-000005"


async def test_an_rma_number_with_more_than_six_digits_is_read():
    # The sequence is what counts: "RMA-0000005" is RMA-000005, as the API reads it.
    tracker = make_tracker(
        text="status of RMA-0000005",
        intent="return_status",
        form="return_status_form",
        activating=True,
        candidates={"rma_number": "RMA-0000005"},
    )
    _, events = await run_action(ValidateReturnStatusForm(), tracker)
    assert slot_events(events)["rma_number"] == "RMA-000005"


async def test_unknown_rma_number_is_asked_again():
    tracker = make_tracker(
        text="RMA-999999",
        form="return_status_form",
        requested_slot="rma_number",
        candidates={"rma_number": "RMA-999999"},
    )
    dispatcher, events = await run_action(ValidateReturnStatusForm(), tracker)
    assert slot_events(events)["rma_number"] is None
    assert "couldn't find a return" in texts(dispatcher)


async def test_no_rma_number_switches_to_the_order():
    tracker = make_tracker(
        text="I don't have it",
        intent="deny",
        form="return_status_form",
        requested_slot="rma_number",
    )
    _, events = await run_action(ValidateReturnStatusForm(), tracker)
    slots = slot_events(events)
    assert slots["rma_unknown"] is True
    assert slots["requested_slot"] == "order_number"


async def test_return_status_through_the_verified_order_lists_its_returns():
    tracker = make_tracker(
        slots={
            "order_number": "10006",
            "order_contact": "lucas.martin@example.com",
            "verified_order": "10006",
        }
    )
    dispatcher, _ = await run_action(ActionReturnStatus(), tracker)
    assert "Return RMA-" in texts(dispatcher)
    assert "order #10006" in texts(dispatcher)


async def test_the_digits_of_an_rma_number_are_not_taken_for_an_order_number():
    tracker = make_tracker(
        "jane_verified_10001",
        text="what's the status of RMA-000005",
        intent="return_status",
        entities={"rma_number": "RMA-000005", "order_number": "000005"},
        form="return_status_form",
        activating=True,
        candidates={
            "rma_number": "RMA-000005",
            "order_number": "000005",
            "order_contact": "jane.doe@example.com",
        },
    )
    tracker.events.insert(0, {"event": "slot", "name": "order_number", "value": "10001"})
    dispatcher, events = await run_action(ValidateReturnStatusForm(), tracker)
    slots = slot_events(events)
    assert slots["order_number"] == "10001" and slots["rma_number"] == "RMA-000005"
    assert dispatcher.messages == []


async def test_a_new_return_forgets_the_answers_of_the_last_one_but_keeps_what_was_just_said():
    tracker = make_tracker(
        "jane_verified_10003",
        text="I want to return the jeans, they're too small",
        intent="initiate_return",
        form="return_form",
        activating=True,
        slots={"resolution": "refund"},
        candidates={
            "order_number": "10003",
            "order_contact": "jane.doe@example.com",
            "resolution": "refund",
            "return_reason": "size_too_small",
        },
    )
    # Rasa's slot extraction from this message, before the form ran:
    tracker.events.insert(-5, {"event": "slot", "name": "return_reason", "value": "size_too_small"})
    _, events = await run_action(FORM, tracker)
    slots = slot_events(events)
    assert slots["resolution"] is None
    assert slots.get("return_reason", "size_too_small") == "size_too_small"


AVA_10011 = {
    "order_number": "10011",
    "order_contact": "ava.nguyen@example.com",
    "verified_order": "10011",
}


async def test_an_item_already_in_a_return_is_named_not_misunderstood():
    # Book the fleece hoodie of order 10011, then ask to return it again by name.
    tracker = make_tracker(
        slots={
            **AVA_10011,
            "return_items": [
                {"sku": "FZH-GREY-L", "quantity": 1, "product_name": "Fleece Zip Hoodie"}
            ],
            "return_reason": "changed_mind",
            "resolution": "refund",
            "return_confirmed": True,
        },
        sender_id="test-already-returned",
    )
    _, events = await run_action(ActionSubmitReturn(), tracker)
    rma = slot_events(events)["rma_number"]
    assert rma and rma.startswith("RMA-")

    again = make_tracker(
        text="the fleece hoodie",
        form="return_form",
        requested_slot="return_items",
        slots=AVA_10011,
    )
    dispatcher, events = await run_action(FORM, again)
    said = texts(dispatcher)
    assert "Fleece Zip Hoodie" in said and "already in a return" in said and rma in said
    assert "couldn't tell" not in said
    assert slot_events(events)["return_items"] is None

    nonsense = make_tracker(
        text="the purple umbrella",
        form="return_form",
        requested_slot="return_items",
        slots=AVA_10011,
    )
    dispatcher, _ = await run_action(FORM, nonsense)
    assert "couldn't tell which item" in texts(dispatcher)
