"""What a customer can choose for a return: the resolutions open to the items asked for (with
their titles and what each gives back) and what each item can be exchanged for. The API
decides these; the assistant only shows them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from api.errors import ApiError
from api.ops.catalog import service as catalog
from api.ops.inventory import service as inventory
from api.ops.returns.enums import Resolution
from api.ops.returns.policy import LineDecision, ReturnPolicy, settle

# An exchange is one item for another size or colour of it: a return of several items is
# refunded or credited.
EXCHANGE_MAX_LINES = 1


@dataclass(frozen=True)
class ResolutionOption:
    code: str
    title: str
    # What the customer gets back for the whole return (0.00 for an exchange).
    amount: Decimal
    available: bool = True
    # Why not, in a customer's words, when not available.
    why_not: str | None = None


@dataclass(frozen=True)
class ExchangeTarget:
    sku: str
    size: str
    colour: str
    available: int


def resolution_title(policy: ReturnPolicy, code: str) -> str:
    """The button a customer reads; the store-credit bonus comes from the policy file."""
    if code == Resolution.refund:
        return "Refund to my original payment"
    if code == Resolution.exchange:
        return "Exchange for another size or colour"
    bonus = policy.store_credit_bonus_percent.normalize()
    return f"Store credit ({bonus:f}% bonus)" if bonus > 0 else "Store credit"


def resolution_options(
    policy: ReturnPolicy,
    decisions: list[LineDecision],
    unit_prices: dict[str, Decimal],
    reasons: dict[str, str | None],
) -> list[ResolutionOption]:
    """Every resolution of the policy, in its order: open when every eligible line allows
    it (and, for an exchange, when it is one item), else why not."""
    eligible = [d for d in decisions if d.eligible]
    if not eligible:
        return []
    found = []
    for code in policy.resolutions:
        why_not = None
        if not all(code in d.options for d in eligible):
            why_not = "not every item can have it"
            if code == Resolution.exchange:
                why_not = "there is no other size or colour of it"
        elif code == Resolution.exchange and len(eligible) > EXCHANGE_MAX_LINES:
            why_not = "an exchange works for one item at a time"
        found.append(
            ResolutionOption(
                code=code,
                title=resolution_title(policy, code),
                amount=settle(policy, decisions, unit_prices, reasons, code).refund_amount,
                available=why_not is None,
                why_not=why_not,
            )
        )
    return found


def check_exchange_size(resolution: str, line_count: int) -> None:
    """422 exchange_one_item for an exchange of several items."""
    if resolution == Resolution.exchange and line_count > EXCHANGE_MAX_LINES:
        raise ApiError(
            422,
            "exchange_one_item",
            "Exchange not possible",
            "An exchange works for one item at a time; a return of several items can be "
            "refunded or credited.",
        )


def exchange_targets(*, db_session: Session, sku: str, quantity: int) -> list[ExchangeTarget]:
    """The other sizes and colours of the item's style with stock for the quantity."""
    product = catalog.get_by_sku(db_session=db_session, sku=sku)
    if product is None:
        return []
    others = [v for v in product.variants if v.sku != sku]
    available: dict[str, int] = defaultdict(int)
    for level in inventory.get_levels(db_session=db_session, skus=[v.sku for v in others]):
        available[level.sku] += level.available
    return [
        ExchangeTarget(sku=v.sku, size=v.size, colour=v.colour, available=available[v.sku])
        for v in others
        if available[v.sku] >= quantity
    ]
