from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

OrderNumberField = Field(
    min_length=1,
    max_length=40,
    description='The order number as the customer wrote it: "10482", "#10482", "A-10482".',
    examples=["#10001"],
)


ConversationField = Field(
    default=None,
    min_length=1,
    max_length=120,
    description="The conversation asking: failed proofs are limited per conversation and per "
    "order number.",
)


class LookupRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "order_number": "#10001",
                    "email": "jane.doe@example.com",
                    "conversation_id": "c-1",
                }
            ]
        },
    )

    order_number: str = OrderNumberField
    email: str | None = Field(default=None, max_length=254)
    postal_code: str | None = Field(default=None, max_length=16)
    conversation_id: str | None = ConversationField

    @model_validator(mode="after")
    def _one_proof(self) -> LookupRequest:
        if not (self.email or self.postal_code):
            raise ValueError("give the email or the postal code on the order")
        return self


class CancelRequest(BaseModel):
    """The service key (the assistant) must prove the customer again with email or postal code;
    staff need not."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="customer request", max_length=500)
    email: str | None = Field(default=None, max_length=254)
    postal_code: str | None = Field(default=None, max_length=16)
    conversation_id: str | None = ConversationField


class TransitionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: str = Field(max_length=30, examples=["shipped"])
    note: str | None = Field(default=None, max_length=500)


class CustomerSummary(BaseModel):
    first_name: str
    email: str


class CustomerFull(CustomerSummary):
    last_name: str
    phone: str | None = None


class LineView(BaseModel):
    sku: str
    style: str | None
    product_name: str
    size: str | None
    colour: str | None
    quantity: int
    unit_price: Decimal
    returned_quantity: int
    returnable_quantity: int
    backordered: bool
    final_sale: bool
    personalized: bool


class PaymentView(BaseModel):
    method: str
    card_brand: str | None
    card_last4: str | None
    amount: Decimal
    status: str


class TrackingEventView(BaseModel):
    occurred_at: datetime
    status: str
    description: str
    location: str | None


class ShipmentView(BaseModel):
    carrier: str
    service: str
    tracking_number: str
    tracking_url: str
    status: str
    promised_delivery_date: date | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    events: list[TrackingEventView]


class ReturnRef(BaseModel):
    rma_number: str
    status: str


class ShipTo(BaseModel):
    city: str
    region: str
    country: str


class CancelRefusalView(BaseModel):
    """Why the order can't be cancelled (null when it can)."""

    code: str = Field(
        description="already_shipped, out_for_delivery, delayed_in_transit, "
        "delivered, already_cancelled, already_returned, lost_in_transit"
    )
    reason: str = Field(description="in a customer's words; follows \"can't be cancelled: \"")
    next_step: str = Field(description="return_on_arrival, return_now, person or none")


class ReturnRefusalView(BaseModel):
    """Why nothing on the order can be returned yet (null when its lines are up to the return
    policy, see POST /returns/eligibility)."""

    code: str = Field(description="lost_in_transit, order_cancelled, not_delivered")
    reason: str = Field(description='in a customer\'s words; follows "Order #10001 "')
    next_step: str = Field(description="person, return_on_arrival or none")


class VerifiedOrder(BaseModel):
    """What a verified customer sees in chat: no full address, no payment details beyond the
    card brand and last four digits."""

    order_number: str
    status: str
    status_text: str
    placed_at: datetime
    currency: str
    total: Decimal
    can_cancel: bool
    cancel_refusal: CancelRefusalView | None
    shipped: bool = Field(description="the parcel has left the warehouse, whatever since")
    return_refusal: ReturnRefusalView | None
    late: bool = Field(description="past its promised delivery date and still awaited")
    awaiting_delivery: bool = Field(
        description="a delivery is still awaited (not delivered, lost, cancelled or returned)"
    )
    promised_delivery_date: date | None
    delivered_at: datetime | None
    customer: CustomerSummary
    ship_to: ShipTo
    lines: list[LineView]
    payments: list[PaymentView]
    shipments: list[ShipmentView]
    returns: list[ReturnRef]


class AuditView(BaseModel):
    action: str
    from_state: str | None
    to_state: str | None
    actor: str
    created_at: datetime


class ShippingAddress(BaseModel):
    name: str
    line1: str
    city: str
    region: str
    postal_code: str
    country: str


class FullOrder(VerifiedOrder):
    """The staff view: everything the agent needs, including the address and the history."""

    customer: CustomerFull
    shipping_address: ShippingAddress
    subtotal: Decimal
    shipping_fee: Decimal
    tax: Decimal
    history: list[AuditView]


class OrderSummary(BaseModel):
    order_number: str
    status: str
    placed_at: datetime
    total: Decimal
    customer_email: str


class OrderList(BaseModel):
    items: list[OrderSummary]
    next_cursor: str | None
