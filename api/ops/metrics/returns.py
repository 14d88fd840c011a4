"""What returns teach about products: return rate and reasons per product, per size and per
colour for the orders placed in a period, and the patterns an operations lead acts on:

- a defect rate above `defect_rate` (quality: the factory, the zip, the seam);
- "not as described" above `not_as_described_rate` (the photos or the copy are wrong);
- one size returned as too small (or too large) at least `size_skew` times as often as the
  product's other sizes, and by at least `size_min_rate` of that size's units (the size chart
  or the pattern is off for that size).

A pattern needs at least `min_units` returned units behind it: one unlucky return is no
pattern. The thresholds are settings (`OPSDESK_RETURNS_*`, `Thresholds.of`).

Units sold are the delivered units of orders placed in the period; units returned are those
of returns on those orders that were not cancelled, expired or rejected (the same counting as
the return rate of /metrics/kpis)."""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.ops.catalog.models import Product, Variant
from api.ops.orders.models import Order, OrderLine
from api.ops.returns.enums import ReturnReason
from api.ops.returns.models import Rma, RmaLine
from api.settings import Settings
from opsdesk_ids import style_of

NOT_COUNTED = ("cancelled", "expired", "rejected")
SIZE_REASONS = {
    ReturnReason.size_too_small.value: ("size_runs_small", "too small"),
    ReturnReason.size_too_large.value: ("size_runs_large", "too large"),
}


@dataclass(frozen=True)
class Thresholds:
    """When a pattern is flagged; the defaults are the settings' defaults."""

    defect_rate: float = 0.05
    not_as_described_rate: float = 0.05
    size_skew: float = 3.0  # a size's rate against the product's other sizes'
    # A size flagged as running small or large has at least this share of its units returned so.
    size_min_rate: float = 0.15
    min_units: int = 3

    @classmethod
    def of(cls, settings: Settings) -> Thresholds:
        return cls(
            defect_rate=settings.returns_defect_rate,
            not_as_described_rate=settings.returns_not_as_described_rate,
            size_skew=settings.returns_size_skew,
            size_min_rate=settings.returns_size_min_rate,
            min_units=settings.returns_min_units,
        )


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.0f}%"


@dataclass
class Figures:
    """Sold and returned units of a product, a size, a colour or a SKU."""

    label: str
    units_sold: int = 0
    units_returned: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def return_rate(self) -> float | None:
        return _rate(self.units_returned, self.units_sold)

    def add(self, sold: int, returned: dict[str, int]) -> None:
        self.units_sold += sold
        for reason, units in returned.items():
            self.by_reason[reason] = self.by_reason.get(reason, 0) + units
            self.units_returned += units


@dataclass(frozen=True)
class Flag:
    kind: str  # defect_rate, not_as_described_rate, size_runs_small, size_runs_large
    style: str
    product: str
    reason: str
    units: int
    units_sold: int
    rate: float
    size: str | None = None
    compared_rate: float | None = None  # the other sizes' rate, for a size flag
    threshold: float | None = None  # the rate it crossed, for a product flag
    message: str = ""


@dataclass
class ProductFigures(Figures):
    style: str = ""
    category: str = ""
    sizes: list[Figures] = field(default_factory=list)
    colours: list[Figures] = field(default_factory=list)
    variants: list[Figures] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)


@dataclass
class ReturnsReport:
    since: datetime
    until: datetime
    totals: Figures
    products: list[ProductFigures]
    flags: list[Flag]
    thresholds: Thresholds


def _units_sold(db: Session, since: datetime, until: datetime) -> dict[str, int]:
    rows = db.execute(
        select(OrderLine.sku, func.sum(OrderLine.quantity))
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.placed_at >= since, Order.placed_at < until, Order.delivered_at.is_not(None))
        .group_by(OrderLine.sku)
    ).all()
    return {sku: int(n) for sku, n in rows}


def _units_returned(db: Session, since: datetime, until: datetime) -> dict[str, dict[str, int]]:
    rows = db.execute(
        select(RmaLine.sku, RmaLine.reason, func.sum(RmaLine.quantity))
        .join(Rma, Rma.id == RmaLine.rma_id)
        .join(Order, Order.id == Rma.order_id)
        .where(Order.placed_at >= since, Order.placed_at < until, Rma.status.notin_(NOT_COUNTED))
        .group_by(RmaLine.sku, RmaLine.reason)
    ).all()
    found: dict[str, dict[str, int]] = defaultdict(dict)
    for sku, reason, n in rows:
        found[sku][reason] = int(n)
    return found


def _product_flags(p: ProductFigures, limits: Thresholds) -> list[Flag]:
    flags = []
    for kind, reason, threshold, words in (
        ("defect_rate", "defective", limits.defect_rate, "returned as defective"),
        (
            "not_as_described_rate",
            "not_as_described",
            limits.not_as_described_rate,
            "not as described",
        ),
    ):
        units = p.by_reason.get(reason, 0)
        rate = _rate(units, p.units_sold)
        if units >= limits.min_units and rate is not None and rate >= threshold:
            flags.append(
                Flag(
                    kind=kind,
                    style=p.style,
                    product=p.label,
                    reason=reason,
                    units=units,
                    units_sold=p.units_sold,
                    rate=rate,
                    threshold=threshold,
                    message=f"{p.label}: {units} of {p.units_sold} sold {words} ({_pct(rate)}, "
                    f"threshold {_pct(threshold)})",
                )
            )
    for reason, (kind, words) in SIZE_REASONS.items():
        total = p.by_reason.get(reason, 0)
        for size in p.sizes:
            units = size.by_reason.get(reason, 0)
            rate = _rate(units, size.units_sold)
            others_sold = p.units_sold - size.units_sold
            others_rate = _rate(total - units, others_sold) or 0.0
            if (
                units >= limits.min_units
                and rate is not None
                and rate >= limits.size_min_rate
                and rate >= limits.size_skew * others_rate
            ):
                flags.append(
                    Flag(
                        kind=kind,
                        style=p.style,
                        product=p.label,
                        reason=reason,
                        units=units,
                        units_sold=size.units_sold,
                        rate=rate,
                        size=size.label,
                        compared_rate=others_rate,
                        message=f"{p.label}, size {size.label}: {units} of {size.units_sold} "
                        f"returned as {words} ({_pct(rate)}) against {total - units} of "
                        f"{others_sold} for the other sizes ({_pct(others_rate)})",
                    )
                )
    return flags


def _place(rank: dict[tuple[str, str], int], style: str, group: Figures) -> int:
    return rank.get((style, group.label), len(rank))


def report(
    *, db_session: Session, since: datetime, until: datetime, thresholds: Thresholds
) -> ReturnsReport:
    """The figures and flags for the orders placed in [since, until), flagged by `thresholds`
    (`Thresholds.of(settings)`)."""
    db = db_session
    sold = _units_sold(db, since, until)
    returned = _units_returned(db, since, until)
    skus = set(sold) | set(returned)
    catalog: dict[str, tuple[str, str, str, str, str]] = {}
    rank: dict[tuple[str, str], int] = {}  # (style, size or colour): its place in the catalog
    for sku, style, name, category, size, colour in db.execute(
        select(
            Variant.sku,
            Product.style,
            Product.name,
            Product.category,
            Variant.size,
            Variant.colour,
        )  # fmt: skip
        .join(Product, Product.id == Variant.product_id)
        .order_by(Variant.id)
    ).all():
        rank.setdefault((style, size), len(rank))
        rank.setdefault((style, colour), len(rank))
        if sku in skus:
            catalog[sku] = (style, name, category, size, colour)
    products: dict[str, ProductFigures] = {}
    totals = Figures("All products")
    ordered = [s for s in catalog] + sorted(skus - set(catalog))
    for sku in ordered:
        style, name, category, size, colour = catalog.get(
            sku, (style_of(sku) or sku, style_of(sku) or sku, "", "", "")
        )
        p = products.setdefault(style, ProductFigures(name, style=style, category=category))
        n_sold, n_returned = sold.get(sku, 0), returned.get(sku, {})
        p.add(n_sold, n_returned)
        totals.add(n_sold, n_returned)
        variant = Figures(sku)
        variant.add(n_sold, n_returned)
        p.variants.append(variant)
        for groups, key in ((p.sizes, size), (p.colours, colour)):
            if not key:
                continue
            group = next((g for g in groups if g.label == key), None)
            if group is None:
                group = Figures(key)
                groups.append(group)
            group.add(n_sold, n_returned)
    flags: list[Flag] = []
    for p in products.values():
        for groups in (p.sizes, p.colours):
            groups.sort(key=functools.partial(_place, rank, p.style))
        p.flags = _product_flags(p, thresholds)
        flags += p.flags
    ranked = sorted(
        products.values(),
        key=lambda p: (-len(p.flags), -(p.return_rate or 0.0), -p.units_sold, p.style),
    )
    return ReturnsReport(
        since=since,
        until=until,
        totals=totals,
        products=ranked,
        flags=flags,
        thresholds=thresholds,
    )
