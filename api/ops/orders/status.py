"""The order status machine: the one place that says which status may follow which."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class OrderStatus(StrEnum):
    pending = "pending"
    paid = "paid"
    processing = "processing"
    packed = "packed"
    shipped = "shipped"
    out_for_delivery = "out_for_delivery"
    delivered = "delivered"
    cancelled = "cancelled"
    backordered = "backordered"
    delayed = "delayed"
    lost = "lost"
    returned = "returned"


S = OrderStatus
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.pending: frozenset({S.paid, S.cancelled}),
    S.paid: frozenset({S.processing, S.backordered, S.cancelled}),
    S.processing: frozenset({S.packed, S.backordered, S.cancelled}),
    S.backordered: frozenset({S.processing, S.cancelled}),
    S.packed: frozenset({S.shipped, S.cancelled}),
    S.shipped: frozenset({S.out_for_delivery, S.delivered, S.delayed, S.lost}),
    S.delayed: frozenset({S.shipped, S.out_for_delivery, S.delivered, S.lost}),
    S.out_for_delivery: frozenset({S.delivered, S.delayed, S.lost}),
    S.delivered: frozenset({S.returned}),
    # A lost parcel is either sent again or refunded.
    S.lost: frozenset({S.processing, S.cancelled}),
    S.cancelled: frozenset(),
    S.returned: frozenset(),
}

CANCELLABLE = frozenset(s for s, nxt in TRANSITIONS.items() if S.cancelled in nxt and s != S.lost)
# The parcel has left the warehouse (whatever became of it since): the one meaning of
# "shipped" for the order documents, the customer's answers and the generated demo data.
SHIPPED_STATES = frozenset(
    {S.shipped, S.out_for_delivery, S.delayed, S.delivered, S.lost, S.returned}
)

# No delivery is awaited any more: such an order is never late.
DELIVERY_SETTLED = frozenset({S.delivered, S.cancelled, S.returned, S.lost})


def is_late(status: str, promised: date | None, today: date) -> bool:
    """Past its promised delivery date and still awaited."""
    return promised is not None and OrderStatus(status) not in DELIVERY_SETTLED and promised < today


STATUS_TEXT: dict[OrderStatus, str] = {
    S.pending: "waiting for payment to be confirmed",
    S.paid: "paid and waiting to be picked in the warehouse",
    S.processing: "being picked and packed in the warehouse",
    S.packed: "packed and waiting for the carrier to collect it",
    S.shipped: "on its way with the carrier",
    S.out_for_delivery: "out for delivery today",
    S.delivered: "delivered",
    S.cancelled: "cancelled",
    S.backordered: "waiting for an item that is out of stock (backordered)",
    S.delayed: "delayed in transit",
    S.lost: "lost in transit, as confirmed by the carrier",
    S.returned: "returned",
}


@dataclass(frozen=True)
class CancelRefusal:
    """Why an order can't be cancelled: a code for programs, the reason in a customer's
    words (it follows "can't be cancelled: "), and what the customer can do instead."""

    code: str
    reason: str
    # return_on_arrival | return_now | person | none
    next_step: str


CANCEL_REFUSALS: dict[OrderStatus, CancelRefusal] = {
    S.shipped: CancelRefusal("already_shipped", "it has already shipped", "return_on_arrival"),
    S.out_for_delivery: CancelRefusal(
        "out_for_delivery", "it is already out for delivery", "return_on_arrival"
    ),
    S.delayed: CancelRefusal(
        "delayed_in_transit", "it has already shipped and is delayed in transit", "person"
    ),
    S.delivered: CancelRefusal("delivered", "it has already been delivered", "return_now"),
    S.cancelled: CancelRefusal("already_cancelled", "it is already cancelled", "none"),
    S.returned: CancelRefusal("already_returned", "it has already been returned", "none"),
    S.lost: CancelRefusal("lost_in_transit", "it was lost in transit", "person"),
}
NEXT_STEP_TEXT = {
    "return_on_arrival": "you can return it once it arrives",
    "return_now": "you can start a return",
    "person": "a person on our team can help",
    "none": "",
}


def cancel_refusal(status: str) -> CancelRefusal | None:
    """None when the order may be cancelled, else why not."""
    current = OrderStatus(status)
    if current in CANCELLABLE:
        return None
    return CANCEL_REFUSALS[current]


@dataclass(frozen=True)
class ReturnRefusal:
    """Why nothing on an order can be returned (yet): a code, the reason in a customer's
    words (it follows "Order #10001 " or "the <item> "), and what the customer can do."""

    code: str
    reason: str
    # person | return_on_arrival | none
    next_step: str


RETURN_REFUSALS: dict[str, ReturnRefusal] = {
    "lost_in_transit": ReturnRefusal(
        "lost_in_transit", "was lost in transit, so there is nothing to send back", "person"
    ),
    "order_cancelled": ReturnRefusal(
        "order_cancelled", "was cancelled, so there is nothing to send back", "none"
    ),
    "not_delivered": ReturnRefusal(
        "not_delivered", "hasn't been delivered yet", "return_on_arrival"
    ),
}


def return_refusal(status: str, *, delivered: bool) -> ReturnRefusal | None:
    """None when the order's items may be returned (each line is then up to the return
    policy), else why none can be: lost, cancelled, or not delivered yet."""
    current = OrderStatus(status)
    if current == S.lost:
        return RETURN_REFUSALS["lost_in_transit"]
    if current == S.cancelled:
        return RETURN_REFUSALS["order_cancelled"]
    if not delivered:
        return RETURN_REFUSALS["not_delivered"]
    return None


class InvalidTransition(Exception):
    def __init__(self, current: str, requested: str) -> None:
        super().__init__(f"an order that is {current} cannot become {requested}")
        self.current = current
        self.requested = requested


def check_transition(current: str, requested: str) -> OrderStatus:
    """Return the requested status if the machine allows it, else raise InvalidTransition."""
    try:
        cur, req = OrderStatus(current), OrderStatus(requested)
    except ValueError as exc:
        raise InvalidTransition(current, requested) from exc
    if req not in TRANSITIONS[cur]:
        raise InvalidTransition(current, requested)
    return req
