"""Routes of /api/v1/inventory."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import DbSession, StaffOrService
from api.errors import ApiError
from api.ops.catalog import service as catalog
from api.ops.catalog.models import Product, Variant
from api.ops.inventory import service
from api.ops.inventory.models import InventoryLevel
from opsdesk_ids import SKU_MAX_LENGTH, canonical_sku

router = APIRouter(prefix="/inventory", tags=["inventory"])


class LocationStock(BaseModel):
    location: str
    on_hand: int
    reserved: int
    available: int


class VariantStock(BaseModel):
    sku: str
    style: str
    product_name: str
    size: str
    colour: str
    available: int
    locations: list[LocationStock]
    next_restock_date: date | None
    next_restock_quantity: int | None


class StyleStock(BaseModel):
    style: str
    product_name: str
    available: int
    variants: list[VariantStock]


def _variant_stock(
    product: Product, variant: Variant, levels: list[InventoryLevel]
) -> VariantStock:
    restocks = [lv for lv in levels if lv.next_restock_date]
    soonest = min(restocks, key=lambda lv: lv.next_restock_date or date.max) if restocks else None
    return VariantStock(
        sku=variant.sku,
        style=product.style,
        product_name=product.name,
        size=variant.size,
        colour=variant.colour,
        available=sum(lv.available for lv in levels),
        locations=[
            LocationStock(
                location=lv.location_code,
                on_hand=lv.on_hand,
                reserved=lv.reserved,
                available=lv.available,
            )
            for lv in levels
        ],
        next_restock_date=soonest.next_restock_date if soonest else None,
        next_restock_quantity=soonest.next_restock_quantity if soonest else None,
    )


@router.get("/{sku}", response_model=VariantStock | StyleStock)
def get_inventory(sku: str, db: DbSession, _who: StaffOrService) -> VariantStock | StyleStock:
    """Stock for a variant SKU (per location), or for every variant of a style code."""
    product = catalog.get_by_sku(db_session=db, sku=sku[:SKU_MAX_LENGTH])
    if product is None:
        raise ApiError(404, "sku_not_found", "Unknown SKU")
    levels = service.get_levels(db_session=db, skus=[v.sku for v in product.variants])
    by_sku: dict[str, list[InventoryLevel]] = {}
    for level in levels:
        by_sku.setdefault(level.sku, []).append(level)
    code = canonical_sku(sku)
    if code != product.style:
        variant = next(v for v in product.variants if v.sku == code)
        return _variant_stock(product, variant, by_sku.get(variant.sku, []))
    variants = [_variant_stock(product, v, by_sku.get(v.sku, [])) for v in product.variants]
    return StyleStock(
        style=product.style,
        product_name=product.name,
        available=sum(v.available for v in variants),
        variants=variants,
    )
