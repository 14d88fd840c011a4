"""Routes of /api/v1/products."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import DbSession, StaffOrService, decode_cursor, encode_cursor
from api.errors import ApiError
from api.ops.catalog import service
from api.ops.catalog.models import Product

router = APIRouter(prefix="/products", tags=["catalog"])


class VariantView(BaseModel):
    sku: str
    size: str
    colour: str


class ProductView(BaseModel):
    style: str
    name: str
    category: str
    price: Decimal
    final_sale: bool
    personalized: bool
    description: str
    aliases: list[str]
    attributes: dict[str, Any]
    variants: list[VariantView]


class VariantMatch(BaseModel):
    colour: str | None = Field(
        description="the colour the query names, as the catalog spells it (navvy: navy)"
    )
    size: str | None = Field(
        description="the size the query names, as the catalog spells it (medum: M, 32)"
    )
    variants: list[VariantView] = Field(
        description="this product's variants in that colour and size (none: it doesn't "
        "come so; one: the variant asked for)"
    )


class ProductHit(ProductView):
    match: VariantMatch | None = Field(
        default=None, description="with `q` naming a colour or size: the variant asked for"
    )


class ProductList(BaseModel):
    items: list[ProductHit]
    next_cursor: str | None


def product_view(p: Product) -> ProductView:
    return ProductView(**_product_fields(p))


def product_hit(found: service.Found) -> ProductHit:
    m = found.match
    return ProductHit(
        **_product_fields(found.product),
        match=VariantMatch(
            colour=m.colour,
            size=m.size,
            variants=[VariantView(sku=v.sku, size=v.size, colour=v.colour) for v in m.variants],
        )
        if m
        else None,
    )


def _product_fields(p: Product) -> dict[str, Any]:
    return dict(
        style=p.style,
        name=p.name,
        category=p.category,
        price=p.price,
        final_sale=p.final_sale,
        personalized=p.personalized,
        description=p.description,
        aliases=list(p.aliases or []),
        attributes=dict(p.attributes or {}),
        variants=[VariantView(sku=v.sku, size=v.size, colour=v.colour) for v in p.variants],
    )


@router.get("", response_model=ProductList)
def list_products(
    db: DbSession,
    _who: StaffOrService,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            description="name, alias or style code, and a colour or size; misspellings are "
            "read as the nearest catalog word",
        ),
    ] = None,
    category: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> ProductList:
    """The catalog; with `q`, best matches first (no cursor), each with the variant the query
    names ("merino crewneck navy medum": the navy M of the Merino Crew Sweater)."""
    found = service.find(
        db_session=db, q=q, category=category, after_id=decode_cursor(cursor), limit=limit + 1
    )
    page = found[:limit]
    more = len(found) > limit and not q
    return ProductList(
        items=[product_hit(f) for f in page],
        next_cursor=encode_cursor(page[-1].product.id) if more else None,
    )


@router.get("/{sku}", response_model=ProductView)
def get_product(sku: str, db: DbSession, _who: StaffOrService) -> ProductView:
    """One product by style code (TEE) or variant SKU (TEE-NAVY-M)."""
    product = service.get_by_sku(db_session=db, sku=sku[:40])
    if product is None:
        raise ApiError(404, "sku_not_found", "Unknown SKU")
    return product_view(product)
