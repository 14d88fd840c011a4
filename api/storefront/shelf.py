"""What the demo shop's front page shows: a few products from the seeded catalog."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from api.ops.catalog import service as catalog

FEATURED_COUNT = 8
PER_CATEGORY = 2
# Swatch colours for the catalog's colour names (data/store/catalog.yml); others get grey.
SWATCHES = {
    "black": "#2b2b2b", "blue": "#4a6fa5", "brown": "#6b4a34", "burgundy": "#6d2135",
    "camel": "#c19a6b", "chambray": "#8ea4c8", "champagne": "#f1e3c8", "charcoal": "#46494d",
    "coral": "#f08a72", "cream": "#f4ecd8", "forest green": "#2f5233", "green plaid": "#4c6b4a",
    "grey": "#9b9b9b", "heather grey": "#b5b5b0", "indigo": "#3b4a7a", "khaki": "#b7a57a",
    "mustard": "#d4a53a", "natural": "#e9e0cc", "navy": "#24324f", "navy floral": "#33406a",
    "nude": "#e3c4a8", "oatmeal": "#ddd2bd", "olive": "#6b6b3a", "red plaid": "#a33a32",
    "rust": "#b5532c", "sage": "#a3b18a", "sand": "#d8c7a3", "sky blue": "#9cc3e4",
    "tan": "#c8a47e", "white": "#f7f7f5", "yellow": "#f2cf4a",
}  # fmt: skip
DEFAULT_SWATCH = "#b9b4aa"


@dataclass(frozen=True)
class ShelfItem:
    style: str
    name: str
    category: str
    price: Decimal
    colours: list[tuple[str, str]]  # (name, hex)

    @property
    def price_label(self) -> str:
        return f"${self.price:,.2f}"

    @property
    def category_label(self) -> str:
        return self.category.replace("_", " ").capitalize()


def featured(*, db_session: Session) -> list[ShelfItem]:
    """Up to FEATURED_COUNT products, at most PER_CATEGORY from each category, in catalog order."""
    per_category: dict[str, int] = {}
    items: list[ShelfItem] = []
    for product in catalog.search(db_session=db_session, limit=200):
        shown = per_category.get(product.category, 0)
        if product.category == "gift_cards" or shown >= PER_CATEGORY:
            continue
        per_category[product.category] = shown + 1
        colours = list(dict.fromkeys(v.colour for v in product.variants))
        items.append(
            ShelfItem(
                style=product.style,
                name=product.name,
                category=product.category,
                price=product.price,
                colours=[(c, SWATCHES.get(c.lower(), DEFAULT_SWATCH)) for c in colours],
            )
        )
        if len(items) == FEATURED_COUNT:
            break
    return items
