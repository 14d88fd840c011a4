from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.db import Base, utcnow
from api.ops.common.types import Money, UTCDateTime
from api.ops.customers.models import Customer


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_status_placed_at", "status", "placed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    subtotal: Mapped[Money]
    shipping_fee: Mapped[Money]
    tax: Mapped[Money]
    total: Mapped[Money]
    ship_name: Mapped[str] = mapped_column(String(160))
    ship_line1: Mapped[str] = mapped_column(String(200))
    ship_city: Mapped[str] = mapped_column(String(80))
    ship_region: Mapped[str] = mapped_column(String(80))
    ship_postal_code: Mapped[str] = mapped_column(String(16))
    ship_country: Mapped[str] = mapped_column(String(2), default="US")
    promised_delivery_date: Mapped[date | None]
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    customer: Mapped[Customer] = relationship(lazy="joined")
    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", order_by="OrderLine.id", lazy="selectin"
    )
    payments: Mapped[list[Payment]] = relationship(order_by="Payment.id", lazy="selectin")
    shipments: Mapped[list[Shipment]] = relationship(order_by="Shipment.id", lazy="selectin")


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(
            "returned_quantity >= 0 AND returned_quantity <= quantity",
            name="returned_within_bought",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    sku: Mapped[str] = mapped_column(String(40), index=True)
    product_name: Mapped[str] = mapped_column(String(120))
    quantity: Mapped[int]
    unit_price: Mapped[Money]
    # Units in open or completed returns; the conditional UPDATE that raises it is the
    # one guard against returning a line more times than it was bought.
    returned_quantity: Mapped[int] = mapped_column(default=0)
    backordered: Mapped[bool] = mapped_column(default=False)
    location_code: Mapped[str] = mapped_column(String(16), default="EAST")

    order: Mapped[Order] = relationship(back_populates="lines")


class Payment(Base):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    method: Mapped[str] = mapped_column(String(20))  # card, paypal, apple_pay, klarna, gift_card
    card_brand: Mapped[str | None] = mapped_column(String(20))
    card_last4: Mapped[str | None] = mapped_column(String(4))
    amount: Mapped[Money]
    status: Mapped[str] = mapped_column(String(20))  # authorized, captured, refunded, ...
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Shipment(Base):
    __tablename__ = "shipments"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    carrier: Mapped[str] = mapped_column(String(20))
    service: Mapped[str] = mapped_column(String(20), default="standard")
    tracking_number: Mapped[str] = mapped_column(String(40), index=True)
    status: Mapped[str] = mapped_column(String(20))
    promised_delivery_date: Mapped[date | None]
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    events: Mapped[list[TrackingEvent]] = relationship(
        order_by="TrackingEvent.occurred_at", lazy="selectin"
    )


class TrackingEvent(Base):
    __tablename__ = "tracking_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(String(200))
    location: Mapped[str | None] = mapped_column(String(80))
