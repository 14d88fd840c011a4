"""Return reason codes, resolutions, dispositions and the RMA lifecycle."""

from __future__ import annotations

from enum import StrEnum


class ReturnReason(StrEnum):
    size_too_small = "size_too_small"
    size_too_large = "size_too_large"
    not_as_described = "not_as_described"
    defective = "defective"
    wrong_item = "wrong_item"
    changed_mind = "changed_mind"
    arrived_late = "arrived_late"
    other = "other"


class Resolution(StrEnum):
    refund = "refund"
    exchange = "exchange"
    store_credit = "store_credit"


class Disposition(StrEnum):
    restock = "restock"
    refurbish = "refurbish"
    resell_secondary = "resell_secondary"
    recycle = "recycle"


class RmaStatus(StrEnum):
    requested = "requested"
    approved = "approved"
    label_issued = "label_issued"
    in_transit = "in_transit"
    received = "received"
    inspected = "inspected"
    refunded = "refunded"
    exchanged = "exchanged"
    credited = "credited"
    closed = "closed"
    rejected = "rejected"
    cancelled = "cancelled"
    expired = "expired"


R = RmaStatus
RMA_TRANSITIONS: dict[RmaStatus, frozenset[RmaStatus]] = {
    R.requested: frozenset({R.approved, R.rejected, R.cancelled}),
    R.approved: frozenset({R.label_issued, R.rejected, R.cancelled}),
    R.label_issued: frozenset({R.in_transit, R.received, R.cancelled, R.expired}),
    R.in_transit: frozenset({R.received}),
    R.received: frozenset({R.inspected}),
    R.inspected: frozenset({R.refunded, R.exchanged, R.credited, R.rejected}),
    R.refunded: frozenset({R.closed}),
    R.exchanged: frozenset({R.closed}),
    R.credited: frozenset({R.closed}),
    R.closed: frozenset(),
    R.rejected: frozenset({R.closed}),
    R.cancelled: frozenset(),
    R.expired: frozenset(),
}

# Ending an RMA in one of these gives its units back to the order line.
RELEASING_STATES = frozenset({R.rejected, R.cancelled, R.expired})
SETTLEMENT_FOR: dict[Resolution, RmaStatus] = {
    Resolution.refund: R.refunded,
    Resolution.exchange: R.exchanged,
    Resolution.store_credit: R.credited,
}

RMA_STATUS_TEXT: dict[RmaStatus, str] = {
    R.requested: "requested and waiting for approval",
    R.approved: "approved; the return label is being prepared",
    R.label_issued: "approved, with a prepaid return label waiting to be used",
    R.in_transit: "on its way back to us",
    R.received: "received at our warehouse and waiting for inspection",
    R.inspected: "inspected; the refund, exchange or credit is being issued",
    R.refunded: "refunded; the money reaches your card in 5-10 business days",
    R.exchanged: "exchanged; the replacement is on its way",
    R.credited: "settled as store credit on your account",
    R.closed: "completed and closed",
    R.rejected: "rejected after review",
    R.cancelled: "cancelled",
    R.expired: "expired because the return label was not used in time",
}
