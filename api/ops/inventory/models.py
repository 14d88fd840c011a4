from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base


class Location(Base):
    __tablename__ = "locations"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))


class InventoryLevel(Base):
    """Stock of one SKU at one location. available = on_hand - reserved, never below zero."""

    __tablename__ = "inventory_levels"
    __table_args__ = (
        UniqueConstraint("sku", "location_code"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("on_hand >= reserved", name="available_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(ForeignKey("variants.sku"), index=True)
    location_code: Mapped[str] = mapped_column(ForeignKey("locations.code"))
    on_hand: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)
    reorder_point: Mapped[int] = mapped_column(default=0)
    next_restock_date: Mapped[date | None]
    next_restock_quantity: Mapped[int | None]

    @property
    def available(self) -> int:
        return max(self.on_hand - self.reserved, 0)
