"""Shapes of GET /api/v1/metrics/returns."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from api.ops.metrics import returns


class ReturnFigures(BaseModel):
    label: str = Field(description="the product's name, a size, a colour or a SKU")
    units_sold: int = Field(description="delivered units of the orders placed in the period")
    units_returned: int = Field(description="units of returns not cancelled, expired, rejected")
    return_rate: float | None = Field(description="units_returned / units_sold; null: none sold")
    by_reason: dict[str, int] = Field(description="returned units by reason code")


class ReturnFlag(BaseModel):
    kind: str = Field(
        description="defect_rate, not_as_described_rate, size_runs_small or size_runs_large"
    )
    style: str
    product: str
    reason: str
    size: str | None
    units: int = Field(description="returned units with that reason")
    units_sold: int = Field(description="of the product (a size flag: of that size)")
    rate: float
    compared_rate: float | None = Field(description="a size flag: the product's other sizes")
    threshold: float | None = Field(description="a product flag: the rate it crossed")
    message: str


class ProductReturns(ReturnFigures):
    style: str
    category: str
    sizes: list[ReturnFigures]
    colours: list[ReturnFigures]
    variants: list[ReturnFigures]
    flags: list[ReturnFlag]


class Thresholds(BaseModel):
    """The thresholds the flags were raised by (the OPSDESK_RETURNS_* settings)."""

    defect_rate: float
    not_as_described_rate: float
    size_skew: float = Field(description="a size's rate against the other sizes'")
    size_min_rate: float
    min_units: int


class ReturnsReportView(BaseModel):
    since: datetime
    until: datetime
    thresholds: Thresholds
    totals: ReturnFigures
    flags: list[ReturnFlag]
    products: list[ProductReturns] = Field(description="flagged first, then by return rate")


def figures_view(f: returns.Figures) -> ReturnFigures:
    return ReturnFigures(
        label=f.label,
        units_sold=f.units_sold,
        units_returned=f.units_returned,
        return_rate=f.return_rate,
        by_reason=dict(sorted(f.by_reason.items())),
    )


def flag_view(f: returns.Flag) -> ReturnFlag:
    return ReturnFlag.model_validate(f, from_attributes=True)


def report_view(r: returns.ReturnsReport) -> ReturnsReportView:
    return ReturnsReportView(
        since=r.since,
        until=r.until,
        thresholds=Thresholds.model_validate(r.thresholds, from_attributes=True),
        totals=figures_view(r.totals),
        flags=[flag_view(f) for f in r.flags],
        products=[
            ProductReturns(
                **figures_view(p).model_dump(),
                style=p.style,
                category=p.category,
                sizes=[figures_view(s) for s in p.sizes],
                colours=[figures_view(c) for c in p.colours],
                variants=[figures_view(v) for v in p.variants],
                flags=[flag_view(f) for f in p.flags],
            )
            for p in r.products
        ],
    )
