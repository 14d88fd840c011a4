from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.ops.orders.schemas import ConversationField
from api.ops.returns.enums import Disposition, Resolution, ReturnReason, RmaStatus


class CustomerProof(BaseModel):
    """With the service key, the email or postal code the customer was verified with."""

    email: str | None = Field(default=None, max_length=254)
    postal_code: str | None = Field(default=None, max_length=16)
    conversation_id: str | None = ConversationField


class EligibilityLine(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str = Field(min_length=1, max_length=40)
    quantity: int = Field(ge=1, le=1000)
    reason: ReturnReason | None = None


class EligibilityRequest(CustomerProof):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "order_number": "10003",
                    "email": "jane.doe@example.com",
                    "lines": [{"sku": "LBS-WHITE-M", "quantity": 1}],
                    "resolution": "refund",
                }
            ]
        },
    )
    order_number: str = Field(min_length=1, max_length=40)
    lines: list[EligibilityLine] = Field(min_length=1, max_length=50)
    resolution: Resolution = Resolution.refund


class FeesView(BaseModel):
    return_shipping: Decimal
    restocking: Decimal
    total: Decimal


class ExchangeTargetView(BaseModel):
    sku: str
    size: str
    colour: str
    available: int


class ResolutionOptionView(BaseModel):
    code: str
    title: str = Field(description="the choice in a customer's words, e.g. for a button")
    amount: Decimal = Field(description="what the whole return gives back with this choice")
    available: bool
    why_not: str | None = Field(description="why this choice is not open, in a customer's words")


class LineEligibility(BaseModel):
    sku: str
    quantity: int
    eligible: bool
    reason: str
    fees: FeesView
    options: list[str]
    exchange_for: list[ExchangeTargetView] = Field(
        description="other sizes and colours in stock for the quantity, when an exchange "
        "is one of the options"
    )
    refund_estimate: Decimal
    return_by: date | None
    condition: str | None


class EligibilityResponse(BaseModel):
    order_number: str
    resolution: str
    all_eligible: bool
    lines: list[LineEligibility]
    fees: FeesView
    refund_estimate: Decimal
    resolution_options: list[ResolutionOptionView] = Field(
        description="every resolution of the policy for this return as a whole, with its "
        "title and amount, and whether it is open (an exchange is one item at a time)"
    )
    label_valid_until: date = Field(
        description="If the return is booked now, the last day its prepaid label can be used "
        "(`return_by` of a line is the end of the return window, which can be later)."
    )


class CreateLine(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str = Field(min_length=1, max_length=40)
    quantity: int = Field(ge=1, le=1000)
    reason: ReturnReason
    exchange_sku: str | None = Field(default=None, max_length=40)


class CreateReturnRequest(CustomerProof):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "order_number": "10003",
                    "email": "jane.doe@example.com",
                    "lines": [{"sku": "LBS-WHITE-M", "quantity": 1, "reason": "size_too_small"}],
                    "resolution": "refund",
                }
            ]
        },
    )
    order_number: str = Field(min_length=1, max_length=40)
    lines: list[CreateLine] = Field(min_length=1, max_length=50)
    resolution: Resolution

    @model_validator(mode="after")
    def _exchange_needs_target(self) -> CreateReturnRequest:
        if self.resolution == Resolution.exchange and any(not ln.exchange_sku for ln in self.lines):
            raise ValueError("an exchange needs exchange_sku on every line")
        return self


class LabelView(BaseModel):
    label_number: str
    carrier: str
    url: str
    expires_at: datetime


class RmaLineView(BaseModel):
    sku: str
    product_name: str
    quantity: int
    unit_price: Decimal
    reason: str
    exchange_sku: str | None
    disposition: str | None


class RmaView(BaseModel):
    rma_number: str
    order_number: str
    status: str
    status_text: str
    resolution: str
    lines: list[RmaLineView]
    items_amount: Decimal
    fees: FeesView
    refund_amount: Decimal
    label: LabelView | None
    return_by: datetime | None
    instructions: str
    created_at: datetime
    updated_at: datetime


class RmaStatusView(BaseModel):
    """A return as the assistant sees it without the customer's proof: its status only."""

    rma_number: str
    status: str
    status_text: str
    resolution: str
    return_by: datetime | None
    instructions: str
    created_at: datetime
    updated_at: datetime


class RmaList(BaseModel):
    items: list[RmaView]
    next_cursor: str | None


class TransitionRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"to": "inspected", "dispositions": {"LBS-WHITE-M": "restock"}}]
        },
    )
    to: RmaStatus
    note: str | None = Field(default=None, max_length=500)
    # At inspection: what happens to each returned SKU.
    dispositions: dict[str, Disposition] | None = None
