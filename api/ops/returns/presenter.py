"""The API document of an RMA, read with one statement that has the database build it as
JSON (as for orders: see api/ops/orders/presenter.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from api.ops.common.sqljson import JsonSql, utc_text
from api.ops.returns.enums import RMA_STATUS_TEXT, RmaStatus
from api.ops.returns.labels import label_url
from api.ops.returns.models import Rma
from api.ops.returns.policy import ReturnPolicy


@cache
def rma_by_number_sql(dialect: str) -> str:
    """The RMA by `:rma_number` as one JSON object with named keys (those of RmaData): its
    own columns, the order's number and the customer's proofs (email, postal code), and its
    lines. Money as text with two decimals, times as UTC text without an offset."""
    j = JsonSql(dialect)
    obj, agg, money, ts = j.object, j.agg, j.money, j.ts
    line = obj(
        {
            "id": "rl.id",
            "sku": "rl.sku",
            "product_name": "ol.product_name",
            "quantity": "rl.quantity",
            "unit_price": money("rl.unit_price"),
            "reason": "rl.reason",
            "exchange_sku": "rl.exchange_sku",
            "disposition": "rl.disposition",
        }
    )
    lines = (
        f"SELECT {agg}({line}) FROM rma_lines rl JOIN order_lines ol ON ol.id = rl.order_line_id "
        "WHERE rl.rma_id = r.id"
    )
    document = obj(
        {
            "rma_number": "r.rma_number",
            "status": "r.status",
            "resolution": "r.resolution",
            **{name: money(f"r.{name}") for name in MONEY_COLUMNS},
            "label_number": "r.label_number",
            "label_carrier": "r.label_carrier",
            **{name: ts(f"r.{name}") for name in ("label_expires_at", "created_at", "updated_at")},
            "order_number": "o.number",
            "customer_email": "c.email",
            "ship_postal_code": "o.ship_postal_code",
            "lines": j.nested(lines),
        }
    )
    return (
        f"SELECT {j.as_text(document)} FROM rmas r JOIN orders o ON o.id = r.order_id "
        "JOIN customers c ON c.id = o.customer_id WHERE r.rma_number = :rma_number"
    )


LINE_KEYS = (
    "sku",
    "product_name",
    "quantity",
    "unit_price",
    "reason",
    "exchange_sku",
    "disposition",
)
MONEY_COLUMNS = ("items_amount", "return_shipping_fee", "restocking_fee", "refund_amount")


@dataclass(frozen=True, slots=True)
class RmaData:
    rma_number: str
    status: str
    resolution: str
    items_amount: str
    return_shipping_fee: str
    restocking_fee: str
    refund_amount: str
    label_number: str | None
    label_carrier: str | None
    label_expires_at: str | None
    created_at: str
    updated_at: str
    order_number: int
    customer_email: str
    ship_postal_code: str
    lines: list[dict[str, Any]]


def parse(raw: str | None) -> RmaData | None:
    """The statement's JSON text as an RmaData (None for no RMA)."""
    if raw is None:
        return None
    values = json.loads(raw)
    values["lines"] = sorted(values["lines"] or [], key=_by_id)
    return RmaData(**values)


def _by_id(row: dict[str, Any]) -> Any:
    return row["id"]


def document(rma: RmaData, policy: ReturnPolicy) -> dict[str, Any]:
    """The RMA as JSON-ready data."""
    status = RmaStatus(rma.status)
    label = None
    if rma.label_number and rma.label_expires_at:
        label = {
            "label_number": rma.label_number,
            "carrier": rma.label_carrier or policy.label_carrier,
            "url": label_url(rma.rma_number, rma.label_number),
            "expires_at": utc_text(rma.label_expires_at),
        }
    if label and status == RmaStatus.label_issued:
        expires = datetime.fromisoformat(rma.label_expires_at or "")
        instructions = (
            f"Pack the items {policy.condition_rules['default']}, attach the prepaid "
            f"{label['carrier']} label {label['label_number']} and drop the parcel at any "
            f"{label['carrier']} location by {expires:%B} {expires.day}."
        )
    else:
        instructions = f"This return is {RMA_STATUS_TEXT[status]}."
    fees = Decimal(rma.return_shipping_fee) + Decimal(rma.restocking_fee)
    return {
        "rma_number": rma.rma_number,
        "order_number": str(rma.order_number),
        "status": rma.status,
        "status_text": RMA_STATUS_TEXT[status],
        "resolution": rma.resolution,
        "lines": [{key: line[key] for key in LINE_KEYS} for line in rma.lines],
        "items_amount": rma.items_amount,
        "fees": {
            "return_shipping": rma.return_shipping_fee,
            "restocking": rma.restocking_fee,
            "total": f"{fees:.2f}",
        },
        "refund_amount": rma.refund_amount,
        "label": label,
        "return_by": utc_text(rma.label_expires_at),
        "instructions": instructions,
        "created_at": utc_text(rma.created_at),
        "updated_at": utc_text(rma.updated_at),
    }


def read_by_number(db_session: Session, rma_number: str) -> RmaData | None:
    sql = rma_by_number_sql(db_session.get_bind().dialect.name)
    return parse(db_session.execute(text(sql), {"rma_number": rma_number}).scalar())


def by_number(db_session: Session, rma_number: str, policy: ReturnPolicy) -> dict | None:
    rma = read_by_number(db_session, rma_number)
    return document(rma, policy) if rma else None


def of(db_session: Session, rma: Rma, policy: ReturnPolicy) -> dict:
    """The document of an RMA the caller holds (after a change)."""
    db_session.flush()
    data = read_by_number(db_session, rma.rma_number)
    assert data is not None  # the caller holds it
    return document(data, policy)
