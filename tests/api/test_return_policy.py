"""The return policy engine, case by case, without HTTP or a database."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from api.ops.orders.status import return_refusal
from api.ops.returns.policy import LineFacts, evaluate_line, load_policy, settle
from api.settings import REPO_ROOT

POLICY = load_policy(REPO_ROOT / "data" / "store" / "return_policy.yml")
TODAY = date(2026, 11, 27)


def facts(**overrides: object) -> LineFacts:
    base: dict[str, object] = dict(
        sku="LBS-WHITE-M",
        product_name="Linen Button-Down Shirt",
        category="shirts",
        final_sale=False,
        personalized=False,
        unit_price=Decimal("78.00"),
        quantity_bought=1,
        quantity_in_returns=0,
        order_status="delivered",
        delivered_on=TODAY - timedelta(days=5),
        has_other_variants=True,
    )
    base.update(overrides)
    return LineFacts(**base)  # type: ignore[arg-type]


def test_line_within_window_is_eligible_with_deadline_and_condition() -> None:
    d = evaluate_line(POLICY, facts(), 1, today=TODAY)
    assert d.eligible
    assert d.return_by == TODAY + timedelta(days=25)
    assert "25 days left" in d.reason and "tags attached" in d.reason
    assert d.options == ("refund", "exchange", "store_credit")
    assert d.refund_estimate == Decimal("78.00")


def test_return_outside_window_is_refused_with_days_since_delivery() -> None:
    d = evaluate_line(POLICY, facts(delivered_on=TODAY - timedelta(days=41)), 1, today=TODAY)
    assert not d.eligible
    assert "delivered 41 days ago; returns are accepted within 30 days" in d.reason


def test_last_day_of_window_is_still_eligible() -> None:
    d = evaluate_line(POLICY, facts(delivered_on=TODAY - timedelta(days=30)), 1, today=TODAY)
    assert d.eligible and "0 days left" in d.reason


def test_faulty_item_outside_window_points_to_a_person() -> None:
    d = evaluate_line(
        POLICY, facts(delivered_on=TODAY - timedelta(days=60)), 1, today=TODAY, reason="defective"
    )
    assert not d.eligible and "a person will look at it" in d.reason


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"final_sale": True}, "final-sale items can't be returned"),
        ({"personalized": True}, "personalized for you"),
        ({"category": "underwear"}, "hygiene"),
        ({"category": "gift_cards"}, "gift cards can't be returned"),
    ],
)
def test_non_returnable_items_are_refused_with_the_reason(overrides: dict, words: str) -> None:
    d = evaluate_line(POLICY, facts(**overrides), 1, today=TODAY)
    assert not d.eligible and words in d.reason
    assert d.options == ()


def test_undelivered_and_lost_orders_cannot_be_returned() -> None:
    shipped = evaluate_line(
        POLICY, facts(order_status="shipped", delivered_on=None), 1, today=TODAY
    )
    assert not shipped.eligible and "hasn't been delivered yet" in shipped.reason
    lost = evaluate_line(POLICY, facts(order_status="lost", delivered_on=None), 1, today=TODAY)
    assert not lost.eligible and "lost in transit" in lost.reason


@pytest.mark.parametrize(
    ("status", "code"),
    [("shipped", "not_delivered"), ("lost", "lost_in_transit"), ("cancelled", "order_cancelled")],
)
def test_a_line_of_an_order_with_nothing_to_return_gives_the_orders_reason(
    status: str, code: str
) -> None:
    """The line's refusal and the order document's `return_refusal` are one decision."""
    refusal = return_refusal(status, delivered=False)
    assert refusal is not None and refusal.code == code
    d = evaluate_line(POLICY, facts(order_status=status, delivered_on=None), 1, today=TODAY)
    assert not d.eligible
    assert d.reason.startswith(f"the Linen Button-Down Shirt {refusal.reason}")


def test_cannot_return_more_than_bought_minus_already_returned() -> None:
    d = evaluate_line(POLICY, facts(quantity_bought=2, quantity_in_returns=1), 2, today=TODAY)
    assert not d.eligible
    assert "you bought 2" in d.reason and "at most 1 can be returned" in d.reason
    done = evaluate_line(POLICY, facts(quantity_bought=1, quantity_in_returns=1), 1, today=TODAY)
    assert not done.eligible and "already been returned" in done.reason


def test_exchange_is_offered_only_when_there_is_another_variant() -> None:
    d = evaluate_line(POLICY, facts(has_other_variants=False), 1, today=TODAY)
    assert d.eligible and "exchange" not in d.options


def test_refund_pays_return_shipping_once_per_return() -> None:
    lines = [
        evaluate_line(POLICY, facts(), 1, today=TODAY),
        evaluate_line(POLICY, facts(sku="TEE-NAVY-M", unit_price=Decimal("28.00")), 1, today=TODAY),
    ]
    s = settle(
        POLICY,
        lines,
        {"LBS-WHITE-M": Decimal("78.00"), "TEE-NAVY-M": Decimal("28.00")},
        {},
        "refund",
    )
    assert s.items_amount == Decimal("106.00")
    assert s.fees.return_shipping == Decimal("6.95")
    assert s.refund_amount == Decimal("99.05")


def test_store_credit_is_free_and_gets_the_bonus() -> None:
    lines = [evaluate_line(POLICY, facts(), 1, today=TODAY, resolution="store_credit")]
    s = settle(POLICY, lines, {"LBS-WHITE-M": Decimal("78.00")}, {}, "store_credit")
    assert s.fees.total == Decimal("0.00")
    assert s.refund_amount == Decimal("85.80")


def test_store_fault_reasons_waive_the_shipping_fee() -> None:
    lines = [evaluate_line(POLICY, facts(), 1, today=TODAY, reason="defective")]
    s = settle(
        POLICY, lines, {"LBS-WHITE-M": Decimal("78.00")}, {"LBS-WHITE-M": "defective"}, "refund"
    )
    assert s.fees.return_shipping == Decimal("0.00") and s.refund_amount == Decimal("78.00")


def test_exchange_gives_no_money_back_and_costs_nothing() -> None:
    lines = [evaluate_line(POLICY, facts(), 1, today=TODAY, resolution="exchange")]
    s = settle(POLICY, lines, {"LBS-WHITE-M": Decimal("78.00")}, {}, "exchange")
    assert s.refund_amount == Decimal("0.00") and s.fees.total == Decimal("0.00")
