"""The return policy engine: per order line, may it be returned, why (in the customer's words),
with which fees and options. Pure functions over plain facts; the policy itself is the YAML file
`data/store/return_policy.yml`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path

import yaml

from api.ops.orders.status import return_refusal
from api.ops.returns.enums import Resolution

CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class ReturnPolicy:
    return_window_days: int
    non_returnable_categories: dict[str, str]
    non_returnable_flags: dict[str, str]
    condition_rules: dict[str, str]
    resolutions: tuple[str, ...]
    return_shipping_fee: dict[str, Decimal]
    restocking_fee_percent: Decimal
    store_credit_bonus_percent: Decimal
    fee_free_reasons: frozenset[str]
    label_valid_days: int
    label_carrier: str
    returns_address: dict[str, str]

    def condition_for(self, category: str) -> str:
        return self.condition_rules.get(category, self.condition_rules["default"])


def parse_policy(raw: dict) -> ReturnPolicy:
    return ReturnPolicy(
        return_window_days=int(raw["return_window_days"]),
        non_returnable_categories=dict(raw.get("non_returnable_categories") or {}),
        non_returnable_flags=dict(raw.get("non_returnable_flags") or {}),
        condition_rules=dict(raw["condition_rules"]),
        resolutions=tuple(raw["resolutions"]),
        return_shipping_fee={k: Decimal(str(v)) for k, v in raw["return_shipping_fee"].items()},
        restocking_fee_percent=Decimal(str(raw.get("restocking_fee_percent", "0"))),
        store_credit_bonus_percent=Decimal(str(raw.get("store_credit_bonus_percent", "0"))),
        fee_free_reasons=frozenset(raw.get("fee_free_reasons") or ()),
        label_valid_days=int(raw.get("label_valid_days", 14)),
        label_carrier=str(raw.get("label_carrier", "UPS")),
        returns_address={k: str(v) for k, v in (raw.get("returns_address") or {}).items()},
    )


@lru_cache
def load_policy(path: Path) -> ReturnPolicy:
    return parse_policy(yaml.safe_load(path.read_text()))


@dataclass(frozen=True)
class LineFacts:
    """What the engine needs to know about one order line."""

    sku: str
    product_name: str
    category: str
    final_sale: bool
    personalized: bool
    unit_price: Decimal
    quantity_bought: int
    quantity_in_returns: int
    order_status: str
    delivered_on: date | None
    has_other_variants: bool


@dataclass(frozen=True)
class Fees:
    return_shipping: Decimal = Decimal("0.00")
    restocking: Decimal = Decimal("0.00")

    @property
    def total(self) -> Decimal:
        return money(self.return_shipping + self.restocking)


@dataclass(frozen=True)
class LineDecision:
    sku: str
    quantity: int
    eligible: bool
    reason: str
    fees: Fees = field(default_factory=Fees)
    options: tuple[str, ...] = ()
    refund_estimate: Decimal = Decimal("0.00")
    return_by: date | None = None
    condition: str | None = None


# What a refused line adds to the order's reason (the order document's `return_refusal`).
_AFTER_ORDER_REFUSAL = {
    "person": "a person will arrange a refund or a replacement",
    "return_on_arrival": "you can return it once it arrives, or cancel the order if it hasn't "
    "shipped",
    "none": "",
}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def evaluate_line(
    policy: ReturnPolicy,
    facts: LineFacts,
    quantity: int,
    *,
    today: date,
    reason: str | None = None,
    resolution: str = Resolution.refund,
) -> LineDecision:
    """Decide one line. The shipping fee is per return, not per line: see `settle`."""

    def refuse(why: str) -> LineDecision:
        return LineDecision(sku=facts.sku, quantity=quantity, eligible=False, reason=why)

    name = facts.product_name
    whole_order = return_refusal(facts.order_status, delivered=facts.delivered_on is not None)
    if whole_order is not None:
        then = _AFTER_ORDER_REFUSAL[whole_order.next_step]
        return refuse(f"the {name} {whole_order.reason}" + (f"; {then}" if then else ""))
    remaining = facts.quantity_bought - facts.quantity_in_returns
    if remaining <= 0:
        return refuse(f"the {name} has already been returned")
    if quantity > remaining:
        already = (
            f", and {facts.quantity_in_returns} already in a return"
            if facts.quantity_in_returns
            else ""
        )
        return refuse(
            f"you bought {facts.quantity_bought} {name}{already}, "
            f"so at most {remaining} can be returned"
        )
    if facts.category in policy.non_returnable_categories:
        return refuse(f"the {name} {policy.non_returnable_categories[facts.category]}")
    for flag, why in policy.non_returnable_flags.items():
        if getattr(facts, flag, False):
            return refuse(f"the {name} {why}")
    delivered_on = facts.delivered_on
    assert delivered_on is not None  # an undelivered order was refused above
    days = (today - delivered_on).days
    return_by = delivered_on + timedelta(days=policy.return_window_days)
    if days > policy.return_window_days:
        why = (
            f"the {name} was delivered {_plural(days, 'day')} ago; returns are accepted within "
            f"{policy.return_window_days} days"
        )
        if reason in policy.fee_free_reasons:
            why += ", but as it is faulty or not what you ordered, a person will look at it"
        return refuse(why)

    fee_free = reason in policy.fee_free_reasons
    items_value = money(facts.unit_price * quantity)
    restocking = (
        Decimal("0.00") if fee_free else money(items_value * policy.restocking_fee_percent / 100)
    )
    options = tuple(
        r for r in policy.resolutions if r != Resolution.exchange or facts.has_other_variants
    )
    estimate = items_value - restocking
    if resolution == Resolution.store_credit:
        estimate = money(estimate * (100 + policy.store_credit_bonus_percent) / 100)
    elif resolution == Resolution.exchange:
        estimate = Decimal("0.00")
    left = policy.return_window_days - days
    condition = policy.condition_for(facts.category)
    return LineDecision(
        sku=facts.sku,
        quantity=quantity,
        eligible=True,
        reason=(
            f"the {name} can be returned until {return_by:%B} {return_by.day} "
            f"({_plural(left, 'day')} left); it must be {condition}"
        ),
        fees=Fees(restocking=restocking),
        options=options,
        refund_estimate=money(estimate),
        return_by=return_by,
        condition=condition,
    )


@dataclass(frozen=True)
class Settlement:
    items_amount: Decimal
    fees: Fees
    refund_amount: Decimal


def settle(
    policy: ReturnPolicy,
    decisions: list[LineDecision],
    unit_prices: dict[str, Decimal],
    reasons: dict[str, str | None],
    resolution: str,
) -> Settlement:
    """What the whole return costs and gives back: one shipping fee per return, waived when
    every line's reason is the store's fault."""
    eligible = [d for d in decisions if d.eligible]
    items = money(sum((unit_prices[d.sku] * d.quantity for d in eligible), Decimal("0")))
    restocking = money(sum((d.fees.restocking for d in eligible), Decimal("0")))
    all_fee_free = bool(eligible) and all(
        reasons.get(d.sku) in policy.fee_free_reasons for d in eligible
    )
    shipping = (
        Decimal("0.00")
        if all_fee_free or not eligible
        else money(policy.return_shipping_fee.get(resolution, Decimal("0")))
    )
    if resolution == Resolution.exchange:
        amount = Decimal("0.00")
    elif resolution == Resolution.store_credit:
        amount = money(
            (items - restocking - shipping) * (100 + policy.store_credit_bonus_percent) / 100
        )
    else:
        amount = money(items - restocking - shipping)
    return Settlement(
        items_amount=items,
        fees=Fees(return_shipping=shipping, restocking=restocking),
        refund_amount=max(amount, Decimal("0.00")),
    )
