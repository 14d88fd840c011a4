"""Routes of /api/v1/orders. Thin: the rules live in service.py and status.py."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from api import metrics
from api.db import begin_write, session_scope, utcnow
from api.deps import DbSession, Staff, StaffOrService, decode_cursor, encode_cursor
from api.errors import ApiError, json_response
from api.ops.orders import presenter, schemas, service
from api.ops.orders.status import OrderStatus
from api.reads import get_reader
from api.settings import get_settings

router = APIRouter(prefix="/orders", tags=["orders"])
log = logging.getLogger("opsdesk.orders")

NOT_FOUND = {"description": "Unknown order, or the email / postal code does not match it"}


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
    responses={404: NOT_FOUND, 429: {"description": "Too many failed attempts"}},
)
async def lookup_order(body: schemas.LookupRequest, _who: StaffOrService) -> Response:
    """The customer-verified view of an order: order number plus email or postal code.

    A wrong email and an unknown order give the same 404. Failed attempts are counted per
    conversation; past the limit the answer is 429 until the window has passed.
    """
    # The assistant's hottest route: one statement reads the conversation's recent failures
    # and the whole order, on the driver directly (api/reads.py). Only a failure writes,
    # through a session in the thread pool, as writes may wait on a lock.
    settings = get_settings()
    reader = get_reader()
    since = utcnow() - timedelta(seconds=settings.lookup_failure_window_seconds)
    row = await reader.fetch_one(
        presenter.lookup_sql(reader.dialect),
        {
            "conversation_id": body.conversation_id,
            "since": reader.timestamp(since),
            "number": service.parse_order_number(body.order_number),
        },
    )
    failures, raw = row or (0, None)
    if failures >= settings.lookup_max_failures:
        raise ApiError(
            429,
            "too_many_attempts",
            "Too many failed verification attempts",
            "Please wait a few minutes or ask for a person.",
            retry_after=settings.lookup_failure_window_seconds,
        )
    order = presenter.parse(raw)
    if order is None or not service.proof_matches(
        customer_email=order.head.email,
        ship_postal_code=order.head.ship_postal_code,
        email=body.email,
        postal_code=body.postal_code,
    ):
        await run_in_threadpool(_record_failure, body.conversation_id)
        metrics.verification_failed()
        log.info("order verification failed (conversation %s)", body.conversation_id)
        raise ApiError(404, "order_not_found", "Order not found")
    return json_response(presenter.document(order))


def _record_failure(conversation_id: str) -> None:
    with session_scope() as db:
        begin_write(db)
        service.record_failure(db_session=db, conversation_id=conversation_id)


@router.get("/{order_number}", response_model=schemas.FullOrder, responses={404: NOT_FOUND})
def get_order(order_number: str, db: DbSession, _who: Staff) -> Response:
    """The full order for staff: customer, address, lines, payments, shipments, returns, history."""
    number = service.parse_order_number(order_number[:40])
    order = presenter.read_by_number(db, number) if number is not None else None
    if order is None:
        raise ApiError(404, "order_not_found", "Order not found")
    return json_response(presenter.staff_document(db, order))


@router.post(
    "/{order_number}/cancel",
    response_model=schemas.VerifiedOrder,
    responses={404: NOT_FOUND, 409: {"description": "Already shipped: the reason is in detail"}},
)
def cancel_order(
    order_number: str, db: DbSession, who: StaffOrService, body: schemas.CancelRequest | None = None
) -> Response:
    """Cancel an order that has not shipped yet; otherwise 409 with the reason."""
    begin_write(db)
    if who.role == "service":
        order_or_none = service.verify(
            db_session=db,
            order_number=order_number[:40],
            email=body.email if body else None,
            postal_code=body.postal_code if body else None,
        )
        if order_or_none is None:
            raise ApiError(404, "order_not_found", "Order not found")
        order = order_or_none
    else:
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


@router.post("/{order_number}/transition", response_model=schemas.FullOrder)
def transition_order(
    order_number: str, body: schemas.TransitionRequest, db: DbSession, who: Staff
) -> Response:
    """Move an order through its status machine (warehouse and carrier updates)."""
    begin_write(db)
    order = service.get_by_number_or_raise(db_session=db, order_number=order_number[:40])
    service.transition(db_session=db, order=order, to=body.to, actor=who.name, note=body.note)
    db.commit()
    return json_response(presenter.order_document(db, order, full=True))
