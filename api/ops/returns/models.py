from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.db import Base, utcnow
from api.ops.common.types import Money, UTCDateTime
from api.ops.orders.models import Order


class Rma(Base):
    """A return merchandise authorization: one customer return of one or more order lines."""

    __tablename__ = "rmas"

    id: Mapped[int] = mapped_column(primary_key=True)
    rma_number: Mapped[str] = mapped_column(String(16), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    resolution: Mapped[str] = mapped_column(String(20))
    items_amount: Mapped[Money]
    return_shipping_fee: Mapped[Money] = mapped_column(default=Decimal("0"))
    restocking_fee: Mapped[Money] = mapped_column(default=Decimal("0"))
    refund_amount: Mapped[Money]
    label_number: Mapped[str | None] = mapped_column(String(40))
    label_carrier: Mapped[str | None] = mapped_column(String(20))
    label_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    conversation_id: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    order: Mapped[Order] = relationship(lazy="joined")
    lines: Mapped[list[RmaLine]] = relationship(order_by="RmaLine.id", lazy="selectin")


class RmaLine(Base):
    __tablename__ = "rma_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rma_id: Mapped[int] = mapped_column(ForeignKey("rmas.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    sku: Mapped[str] = mapped_column(String(40))
    quantity: Mapped[int]
    unit_price: Mapped[Money]
    reason: Mapped[str] = mapped_column(String(30))
    exchange_sku: Mapped[str | None] = mapped_column(String(40))
    disposition: Mapped[str | None] = mapped_column(String(20))
