"""Prepaid return labels: a link the customer can open without an API key, and the PDF.

RMA numbers are sequential and a label carries the customer's name and address, so the link
holds a token: an HMAC of the RMA and label numbers under the store's generated secret. A new
label number (a reissued label) makes the old links stop working.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from fpdf import FPDF

from api.settings import get_settings


def label_token(rma_number: str, label_number: str, secret: str | None = None) -> str:
    key = (secret or get_settings().session_secret).encode()
    digest = hmac.new(key, f"label:{rma_number}:{label_number}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()[:18]).decode()


def label_url(rma_number: str, label_number: str) -> str:
    """The label's link, relative to the api (the assistant makes it absolute)."""
    return f"/labels/{rma_number}.pdf?token={label_token(rma_number, label_number)}"


def token_matches(rma_number: str, label_number: str | None, token: str) -> bool:
    if not label_number or not token:
        return False
    # Bytes, not str: compare_digest refuses non-ASCII text, and a token is any text a
    # customer's link can carry.
    return hmac.compare_digest(label_token(rma_number, label_number).encode(), token.encode())


@dataclass(frozen=True)
class Address:
    name: str
    line1: str
    city: str
    region: str
    postal_code: str
    country: str

    def lines(self) -> list[str]:
        return [
            self.name,
            self.line1,
            f"{self.city}, {self.region} {self.postal_code}",
            self.country,
        ]


@dataclass(frozen=True)
class Label:
    carrier: str
    label_number: str
    rma_number: str
    order_number: int
    expires_at: datetime
    ship_from: Address
    ship_to: Address
    items: list[tuple[int, str]]  # (quantity, product name)


def render_pdf(label: Label) -> bytes:
    """A 4 x 6 inch label, the size carriers print: sender, returns address, a Code 39
    barcode of the label number, the RMA and what is inside."""
    pdf = FPDF(unit="in", format=(4, 6))
    pdf.set_compression(False)  # tiny either way; plain text keeps it greppable
    pdf.set_margins(0.25, 0.25, 0.25)
    pdf.set_auto_page_break(False)
    pdf.set_title(f"{label.carrier} return label {label.label_number}")
    pdf.set_author(_latin1(label.ship_to.name))
    pdf.add_page()
    width = 3.5

    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(width, 0.35, _latin1(f"{label.carrier} PREPAID RETURN"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 8)
    pdf.cell(
        width,
        0.2,
        _latin1(f"Valid until {label.expires_at:%B} {label.expires_at.day}, {label.expires_at:%Y}"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(0.1)
    for heading, address, size in (("FROM", label.ship_from, 9), ("SHIP TO", label.ship_to, 12)):
        pdf.set_font("Helvetica", "B", 8)
        pdf.cell(width, 0.18, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "B" if heading == "SHIP TO" else "", size)
        for line in address.lines():
            pdf.cell(width, size / 60, _latin1(line), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(0.1)

    pdf.set_line_width(0.02)
    pdf.line(0.25, pdf.get_y(), 3.75, pdf.get_y())
    pdf.ln(0.1)
    code = f"*{label.label_number}*"
    # fpdf2 draws a Code 39 character about 5.4 `w` wide: keep the code within 3.4 in.
    pdf.code39(code, x=0.3, y=pdf.get_y(), w=min(0.034, 3.4 / (5.4 * len(code))), h=0.8)
    pdf.set_y(pdf.get_y() + 0.85)
    pdf.set_font("Courier", "B", 12)
    pdf.cell(width, 0.25, label.label_number, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.line(0.25, pdf.get_y() + 0.05, 3.75, pdf.get_y() + 0.05)
    pdf.ln(0.15)

    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(
        width,
        0.22,
        f"{label.rma_number}  /  order #{label.order_number}",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("Helvetica", "", 8)
    for quantity, name in label.items[:6]:
        pdf.cell(width, 0.17, _latin1(f"{quantity} x {name}"), new_x="LMARGIN", new_y="NEXT")
    if len(label.items) > 6:
        pdf.cell(width, 0.17, f"and {len(label.items) - 6} more", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _latin1(text: str) -> str:
    """The core PDF fonts know Latin-1 only."""
    return text.encode("latin-1", "replace").decode("latin-1")
