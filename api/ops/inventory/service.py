"""Stock per SKU per location. Every change is one conditional UPDATE, so two requests racing
for the last unit can never take it twice, on SQLite or PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.errors import ApiError
from api.ops.inventory.models import InventoryLevel

Level = InventoryLevel


def get_levels(*, db_session: Session, skus: list[str]) -> list[InventoryLevel]:
    """Stock rows for these SKUs, every location."""
    return list(
        db_session.scalars(
            select(Level).where(Level.sku.in_(skus)).order_by(Level.sku, Level.location_code)
        )
    )


def reserve(*, db_session: Session, sku: str, quantity: int) -> str:
    """Reserve units at the location with most available stock; return its code.

    Raises 409 insufficient_stock when no single location can cover the quantity.
    """
    levels = sorted(
        get_levels(db_session=db_session, skus=[sku]), key=lambda lv: -(lv.on_hand - lv.reserved)
    )
    for level in levels:
        result = db_session.execute(
            update(Level)
            .where(Level.id == level.id, Level.on_hand - Level.reserved >= quantity)
            .values(reserved=Level.reserved + quantity)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            return level.location_code
    raise ApiError(
        409, "insufficient_stock", "Not enough stock", f"{sku} has fewer than {quantity} available"
    )


def release(*, db_session: Session, sku: str, location_code: str, quantity: int) -> None:
    """Give reserved units back to available stock."""
    db_session.execute(
        update(Level)
        .where(Level.sku == sku, Level.location_code == location_code, Level.reserved >= quantity)
        .values(reserved=Level.reserved - quantity)
        .execution_options(synchronize_session=False)
    )


def ship(*, db_session: Session, sku: str, location_code: str, quantity: int) -> None:
    """Reserved units leave the building: on hand and reserved both drop."""
    db_session.execute(
        update(Level)
        .where(Level.sku == sku, Level.location_code == location_code, Level.reserved >= quantity)
        .values(on_hand=Level.on_hand - quantity, reserved=Level.reserved - quantity)
        .execution_options(synchronize_session=False)
    )


def restock(*, db_session: Session, sku: str, location_code: str, quantity: int) -> None:
    """Units come back on the shelf (a returned item that passed inspection)."""
    result = db_session.execute(
        update(Level)
        .where(Level.sku == sku, Level.location_code == location_code)
        .values(on_hand=Level.on_hand + quantity)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        db_session.add(Level(sku=sku, location_code=location_code, on_hand=quantity, reserved=0))
