"""The order, RMA and ticket status machines: one place each, tested without HTTP."""

from __future__ import annotations

from datetime import date

import pytest

from api.ops.orders.status import (
    CANCEL_REFUSALS,
    CANCELLABLE,
    NEXT_STEP_TEXT,
    RETURN_REFUSALS,
    SHIPPED_STATES,
    TRANSITIONS,
    InvalidTransition,
    OrderStatus,
    cancel_refusal,
    check_transition,
    is_late,
    return_refusal,
)
from api.ops.returns.enums import RMA_TRANSITIONS, RmaStatus
from api.ops.tickets.service import TICKET_TRANSITIONS, TicketStatus


def test_the_happy_path_of_an_order_is_allowed() -> None:
    path = ["pending", "paid", "processing", "packed", "shipped", "out_for_delivery", "delivered"]
    for a, b in zip(path, path[1:], strict=False):
        assert check_transition(a, b) == OrderStatus(b)


@pytest.mark.parametrize(
    ("current", "requested"),
    [
        ("delivered", "shipped"),
        ("shipped", "cancelled"),
        ("cancelled", "paid"),
        ("pending", "shipped"),
        ("returned", "delivered"),
        ("paid", "nonsense"),
    ],
)
def test_impossible_order_changes_are_refused(current: str, requested: str) -> None:
    with pytest.raises(InvalidTransition):
        check_transition(current, requested)


def test_only_orders_that_have_not_shipped_can_be_cancelled() -> None:
    assert {s.value for s in CANCELLABLE} == {
        "pending",
        "paid",
        "processing",
        "backordered",
        "packed",
    }


def test_every_order_that_cannot_be_cancelled_says_why_and_what_next() -> None:
    for status in OrderStatus:
        refusal = cancel_refusal(status)
        assert (refusal is None) == (status in CANCELLABLE), status
        if refusal is not None:
            assert refusal.next_step in NEXT_STEP_TEXT
    assert len({r.code for r in CANCEL_REFUSALS.values()}) == len(CANCEL_REFUSALS)


def test_only_a_delivered_order_has_something_to_return_and_the_rest_say_why() -> None:
    codes = {
        (status.value, delivered): getattr(
            return_refusal(status, delivered=delivered), "code", None
        )
        for status in OrderStatus
        for delivered in (False, True)
    }
    assert codes[("delivered", True)] is None and codes[("returned", True)] is None
    assert codes[("shipped", False)] == codes[("paid", False)] == "not_delivered"
    assert codes[("lost", False)] == codes[("lost", True)] == "lost_in_transit"
    assert codes[("cancelled", False)] == "order_cancelled"
    assert {code for code in codes.values() if code} == set(RETURN_REFUSALS)
    assert all(
        r.next_step in {"person", "return_on_arrival", "none"} for r in RETURN_REFUSALS.values()
    )


def test_a_shipped_order_has_left_the_warehouse_and_none_of_those_can_be_cancelled() -> None:
    assert not SHIPPED_STATES & CANCELLABLE
    assert OrderStatus.delivered in SHIPPED_STATES
    assert OrderStatus.packed not in SHIPPED_STATES


def test_an_order_is_late_only_past_its_promise_while_still_awaited() -> None:
    today = date(2026, 11, 30)
    yesterday, tomorrow = date(2026, 11, 29), date(2026, 12, 1)
    assert is_late("shipped", yesterday, today)
    assert not is_late("shipped", tomorrow, today)
    assert not is_late("shipped", None, today)
    assert not any(is_late(s, yesterday, today) for s in ("delivered", "lost", "cancelled"))


def test_every_order_status_is_reachable_from_pending() -> None:
    seen, todo = {OrderStatus.pending}, [OrderStatus.pending]
    while todo:
        for nxt in TRANSITIONS[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    assert seen == set(OrderStatus)


def test_every_rma_status_is_reachable_and_ends_are_final() -> None:
    seen, todo = {RmaStatus.requested}, [RmaStatus.requested]
    while todo:
        for nxt in RMA_TRANSITIONS[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    assert seen == set(RmaStatus)
    for end in (RmaStatus.closed, RmaStatus.cancelled, RmaStatus.expired):
        assert RMA_TRANSITIONS[end] == frozenset()
    assert RmaStatus.refunded not in RMA_TRANSITIONS[RmaStatus.received]  # inspection first


def test_a_resolved_ticket_can_only_be_reopened() -> None:
    assert TICKET_TRANSITIONS[TicketStatus.resolved] == {TicketStatus.open}
