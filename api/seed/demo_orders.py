"""The demo orders: one per case the assistant and agents meet (listed in the README and
docs/catalog-plan.md), and the lifecycle path of the demo returns."""

from __future__ import annotations

from dataclasses import dataclass, field

from api.ops.returns.enums import RMA_TRANSITIONS, RmaStatus


@dataclass
class DemoOrder:
    number: int
    email: str
    first: str
    last: str
    postal: str
    city: str
    region: str
    status: str
    placed_days_ago: int
    lines: list[tuple[str, int]]
    carrier: str = "UPS"
    delivered_days_ago: int | None = None
    promised_in_days: int | None = None
    backordered_skus: set[str] = field(default_factory=set)
    events: list[tuple[float, str, str, str]] = field(
        default_factory=list
    )  # hours ago, status, text, place


def demo_orders() -> list[DemoOrder]:
    return [
        DemoOrder(
            10001,
            "jane.doe@example.com",
            "Jane",
            "Doe",
            "94110",
            "San Francisco",
            "CA",
            "shipped",
            3,
            [("TEE-NAVY-M", 2), ("RCH-KHAKI-32", 1)],
            promised_in_days=2,
            events=[
                (60, "label_created", "Shipping label created", "Newark, NJ"),
                (48, "picked_up", "Picked up by UPS", "Newark, NJ"),
                (20, "in_transit", "Departed facility", "Chicago, IL"),
            ],
        ),
        DemoOrder(
            10002,
            "sam.lee@example.com",
            "Sam",
            "Lee",
            "10001",
            "New York",
            "NY",
            "delayed",
            9,
            [("WOC-CAMEL-M", 1)],
            carrier="FedEx",
            promised_in_days=-2,
            events=[
                (190, "label_created", "Shipping label created", "Reno, NV"),
                (170, "picked_up", "Picked up by FedEx", "Reno, NV"),
                (80, "exception", "Weather delay: the parcel is held at the hub", "Memphis, TN"),
            ],
        ),
        DemoOrder(
            10003,
            "jane.doe@example.com",
            "Jane",
            "Doe",
            "94110",
            "San Francisco",
            "CA",
            "delivered",
            10,
            [("LBS-WHITE-M", 1), ("SSJ-INDIGO-32", 1), ("SLD-BLACK-S", 1)],
            delivered_days_ago=5,
        ),
        DemoOrder(
            10004,
            "omar.haddad@example.com",
            "Omar",
            "Haddad",
            "60614",
            "Chicago",
            "IL",
            "delivered",
            50,
            [("MCS-NAVY-L", 1)],
            carrier="USPS",
            delivered_days_ago=45,
        ),
        DemoOrder(
            10005,
            "priya.patel@example.com",
            "Priya",
            "Patel",
            "02139",
            "Cambridge",
            "MA",
            "backordered",
            4,
            [("PUF-OLIVE-M", 1), ("CTT-NATURAL-OS", 1)],
            backordered_skus={"PUF-OLIVE-M"},
        ),
        DemoOrder(
            10006,
            "lucas.martin@example.com",
            "Lucas",
            "Martin",
            "73301",
            "Austin",
            "TX",
            "delivered",
            16,
            [("PHO-BLACK-L", 2)],
            delivered_days_ago=12,
        ),
        DemoOrder(
            10007,
            "mia.chen@example.com",
            "Mia",
            "Chen",
            "98101",
            "Seattle",
            "WA",
            "paid",
            0,
            [("CKC-CREAM-S", 1), ("WBN-MUSTARD-OS", 1)],
        ),
        DemoOrder(
            10008,
            "noah.kim@example.com",
            "Noah",
            "Kim",
            "30301",
            "Atlanta",
            "GA",
            "cancelled",
            6,
            [("LCB-BROWN-9", 1)],
        ),
        DemoOrder(
            10009,
            "ella.rossi@example.com",
            "Ella",
            "Rossi",
            "85001",
            "Phoenix",
            "AZ",
            "lost",
            15,
            [("DJK-INDIGO-M", 1)],
            carrier="USPS",
            promised_in_days=-8,
            events=[
                (340, "label_created", "Shipping label created", "Reno, NV"),
                (320, "in_transit", "Departed facility", "Reno, NV"),
                (30, "lost", "The carrier could not locate the parcel", "Phoenix, AZ"),
            ],
        ),
        DemoOrder(
            10010,
            "jane.doe@example.com",
            "Jane",
            "Doe",
            "94110",
            "San Francisco",
            "CA",
            "out_for_delivery",
            4,
            [("CSC-CAMEL-OS", 1)],
            promised_in_days=0,
            events=[
                (70, "label_created", "Shipping label created", "Reno, NV"),
                (50, "in_transit", "Departed facility", "Sacramento, CA"),
                (3, "out_for_delivery", "Out for delivery", "San Francisco, CA"),
            ],
        ),
        DemoOrder(
            10011,
            "ava.nguyen@example.com",
            "Ava",
            "Nguyen",
            "97201",
            "Portland",
            "OR",
            "delivered",
            7,
            [("MNT-NAVY-OS", 1), ("BXB-BLACK-M", 1), ("FZH-GREY-L", 1)],
            delivered_days_ago=3,
        ),
        DemoOrder(
            10012,
            "leo.garcia@example.com",
            "Leo",
            "Garcia",
            "33101",
            "Miami",
            "FL",
            "processing",
            1,
            [("OXS-BLUE-L", 1), ("HSH-SAND-M", 1)],
        ),
        DemoOrder(
            10013,
            "zoe.brown@example.com",
            "Zoe",
            "Brown",
            "02108",
            "Boston",
            "MA",
            "pending",
            0,
            [("RTK-BLACK-S", 2)],
        ),
    ]


# A return's whole way when all goes well, from the request to the refund and closing.
RMA_HAPPY_PATH = [
    RmaStatus.requested,
    RmaStatus.approved,
    RmaStatus.label_issued,
    RmaStatus.in_transit,
    RmaStatus.received,
    RmaStatus.inspected,
    RmaStatus.refunded,
    RmaStatus.closed,
]

# One RMA in each lifecycle state: the path through the lifecycle to reach it.
RMA_PATHS: list[list[RmaStatus]] = []
for _target in RmaStatus:
    _path: list[RmaStatus] = [RmaStatus.requested]
    _order = RMA_HAPPY_PATH
    if _target in _order:
        _path = _order[: _order.index(_target) + 1]
    elif _target in (RmaStatus.exchanged, RmaStatus.credited):
        _path = _order[:6] + [_target]
    elif _target == RmaStatus.rejected:
        _path = [RmaStatus.requested, RmaStatus.rejected]
    elif _target == RmaStatus.cancelled:
        _path = [RmaStatus.requested, RmaStatus.approved, RmaStatus.cancelled]
    elif _target == RmaStatus.expired:
        _path = _order[:3] + [RmaStatus.expired]
    assert all(b in RMA_TRANSITIONS[a] for a, b in zip(_path, _path[1:], strict=False))
    RMA_PATHS.append(_path)
