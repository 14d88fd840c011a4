"""Eligibility of the lines a customer asks to return: the policy engine over the order's
facts, and what the whole return would cost and give back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from api.db import utcnow
from api.ops.catalog.service import VariantFacts, variant_facts
from api.ops.orders.models import Order, OrderLine
from api.ops.returns.policy import (
    LineDecision,
    LineFacts,
    ReturnPolicy,
    Settlement,
    evaluate_line,
    settle,
)
from opsdesk_ids import canonical_sku


@dataclass(frozen=True)
class RequestedLine:
    sku: str
    quantity: int
    reason: str | None = None
    exchange_sku: str | None = None


@dataclass(frozen=True)
class Assessment:
    decisions: list[LineDecision]
    settlement: Settlement
    order_lines: dict[str, OrderLine]

    @property
    def all_eligible(self) -> bool:
        return all(d.eligible for d in self.decisions)


def _facts(line: OrderLine, fact: VariantFacts | None, order: Order) -> LineFacts:
    delivered = order.delivered_at.date() if order.delivered_at else None
    return LineFacts(
        sku=line.sku,
        product_name=line.product_name,
        category=fact.category if fact else "unknown",
        final_sale=bool(fact and fact.final_sale),
        personalized=bool(fact and fact.personalized),
        unit_price=line.unit_price,
        quantity_bought=line.quantity,
        quantity_in_returns=line.returned_quantity,
        order_status=order.status,
        delivered_on=delivered,
        has_other_variants=bool(fact and fact.sibling_count > 1),
    )


def assess(
    *,
    db_session: Session,
    policy: ReturnPolicy,
    order: Order,
    lines: list[RequestedLine],
    resolution: str,
    today: date | None = None,
) -> Assessment:
    """Run the policy over the requested lines; unknown SKUs are refused, not errors."""
    today = today or utcnow().date()
    by_sku = {line.sku: line for line in order.lines}
    facts = variant_facts(db_session=db_session, skus=list(by_sku))
    decisions: list[LineDecision] = []
    seen: set[str] = set()
    for req in lines:
        sku = canonical_sku(req.sku)
        line = by_sku.get(sku)
        if line is None:
            decisions.append(
                LineDecision(
                    sku=sku,
                    quantity=req.quantity,
                    eligible=False,
                    reason=f"{sku} is not on order #{order.number}",
                )
            )
            continue
        if sku in seen:
            decisions.append(
                LineDecision(
                    sku=sku,
                    quantity=req.quantity,
                    eligible=False,
                    reason=f"{line.product_name} is listed twice in this return",
                )
            )
            continue
        seen.add(sku)
        decisions.append(
            evaluate_line(
                policy,
                _facts(line, facts.get(sku), order),
                req.quantity,
                today=today,
                reason=req.reason,
                resolution=resolution,
            )
        )
    settlement = settle(
        policy,
        decisions,
        {sku: line.unit_price for sku, line in by_sku.items()},
        {canonical_sku(req.sku): req.reason for req in lines},
        resolution,
    )
    return Assessment(decisions=decisions, settlement=settlement, order_lines=by_sku)
