"""Routes of /api/v1/orders. Thin: the rules live in service.py and status.py."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from api.db import begin_write
from api.deps import DbSession, Staff, StaffOrService, decode_cursor, encode_cursor
from api.errors import ApiError, json_response
from api.ops.orders import presenter, schemas, service
from api.ops.orders.status import OrderStatus
from api.ops.verification import service as verification
from api.reads import get_reader
from opsdesk_ids import parse_order_number

router = APIRouter(prefix="/orders", tags=["orders"])
log = logging.getLogger("opsdesk.orders")

NOT_FOUND = {"description": "Unknown order, or the email / postal code does not match it"}
TOO_MANY = {"description": "Too many failed verification attempts for this conversation or order"}


@router.get("", response_model=schemas.OrderList)
def list_orders(
    db: DbSession,
    _who: Staff,
    status: Annotated[OrderStatus | None, Query()] = None,
    customer_email: Annotated[str | None, Query(max_length=254)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> schemas.OrderList:
    orders = service.list_orders(
        db_session=db,
        status=status.value if status else None,
        customer_email=customer_email,
        before_id=decode_cursor(cursor),
        limit=limit + 1,
    )
    page = orders[:limit]
    return schemas.OrderList(
        items=[
            schemas.OrderSummary(
                order_number=str(o.number),
                status=o.status,
                placed_at=o.placed_at,
                total=o.total,
                customer_email=o.customer.email,
            )
            for o in page
        ],
        next_cursor=encode_cursor(page[-1].id) if len(orders) > limit else None,
    )


@router.post(
    "/lookup",
    response_model=schemas.VerifiedOrder,
    responses={404: NOT_FOUND, 429: TOO_MANY},
)
async def lookup_order(body: schemas.LookupRequest, who: StaffOrService) -> Response:
    """The customer-verified view of an order: order number plus email or postal code.

    A wrong email and an unknown order give the same 404 after the same work. Failed attempts
    are counted per conversation and per order number; past either limit the answer is 429
    until the window has passed.
    """
    if who.role == "service":
        number: int | None = await run_in_threadpool(
            verification.prove_order,
            order_number=body.order_number,
            conversation_id=body.conversation_id,
            email=body.email,
            postal_code=body.postal_code,
        )
    else:
        number = parse_order_number(body.order_number)
    # The document is read only once the customer is proven, on the driver directly
    # (api/reads.py): the assistant's hottest route.
    reader = get_reader()
    row = (
        await reader.fetch_one(presenter.order_by_number_sql(reader.dialect), {"number": number})
        if number is not None
        else None
    )
    order = presenter.parse(row[0]) if row else None
    if order is None:
        raise ApiError(404, "order_not_found", "Order not found")
    return json_response(presenter.document(order))


@router.get("/{order_number}", response_model=schemas.FullOrder, responses={404: NOT_FOUND})
def get_order(order_number: str, db: DbSession, _who: Staff) -> Response:
    """The full order for staff: customer, address, lines, payments, shipments, returns, history."""
    number = parse_order_number(order_number[:40])
    order = presenter.read_by_number(db, number) if number is not None else None
    if order is None:
        raise ApiError(404, "order_not_found", "Order not found")
    return json_response(presenter.staff_document(db, order))


@router.post(
    "/{order_number}/cancel",
    response_model=schemas.VerifiedOrder,
    responses={
        404: NOT_FOUND,
        409: {"description": "Already shipped: the reason is in detail"},
        429: TOO_MANY,
    },
)
def cancel_order(
    order_number: str, db: DbSession, who: StaffOrService, body: schemas.CancelRequest | None = None
) -> Response:
    """Cancel an order that has not shipped yet; otherwise 409 with the reason."""
    if who.role == "service":
        verification.prove_order(
            order_number=order_number[:40],
            conversation_id=body.conversation_id if body else None,
            email=body.email if body else None,
            postal_code=body.postal_code if body else None,
        )
    begin_write(db)
    order = service.get_by_number_or_raise(db_session=db, order_number=order_number[:40])
    if order.status == OrderStatus.cancelled:
        # Cancelling twice is a retry, not an error.
        return json_response(presenter.order_document(db, order, full=False))
    service.cancel(
        db_session=db,
        order=order,
        actor=who.name,
        reason=(body.reason if body else "customer request"),
    )
    db.commit()
    return json_response(presenter.order_document(db, order, full=False))


@router.post(
    "/{order_number}/transition",
    response_model=schemas.FullOrder,
    responses={409: {"description": "The status machine does not allow this change"}},
)
def transition_order(
    order_number: str, body: schemas.TransitionRequest, db: DbSession, who: Staff
) -> Response:
    """Move an order through its status machine (warehouse and carrier updates)."""
    begin_write(db)
    order = service.get_by_number_or_raise(db_session=db, order_number=order_number[:40])
    service.transition(db_session=db, order=order, to=body.to, actor=who.name, note=body.note)
    db.commit()
    return json_response(presenter.order_document(db, order, full=True))
