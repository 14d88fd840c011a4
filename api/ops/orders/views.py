"""Routes of /api/v1/orders. Thin: the rules live in service.py and status.py."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.db import begin_write
from api.deps import DbSession, Staff, StaffOrService, decode_cursor, encode_cursor
from api.errors import ApiError, json_response
from api.ops.orders import presenter, schemas, service
from api.ops.orders.status import OrderStatus
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
async def lookup_order(
    body: schemas.LookupRequest, db: DbSession, _who: StaffOrService
) -> Response:
    """The customer-verified view of an order: order number plus email or postal code.

    A wrong email and an unknown order give the same 404. Failed attempts are counted per
    conversation; past the limit the answer is 429 until the window has passed.
    """
    # The assistant's hottest route: a few indexed reads that never wait on a lock. On an
    # in-process database (SQLite) they are pure CPU and run on the event loop, where a thread
    # hop only adds GIL contention (8-client p95 45 -> 27 ms measured); on a server database
    # they wait on the network, so they go to the thread pool. Failure writes may wait on a
    # lock: always the thread pool.
    if db.get_bind().dialect.name == "sqlite":
        verified = _verified_document(db, body)
    else:
        verified = await run_in_threadpool(_verified_document, db, body)
    if verified is None:
        await run_in_threadpool(_record_failure, db, body.conversation_id)
        log.info("order verification failed (conversation %s)", body.conversation_id)
        raise ApiError(404, "order_not_found", "Order not found")
    return json_response(verified)


def _verified_document(db: Session, body: schemas.LookupRequest) -> dict | None:
    """The verified view, None for an unknown order or a wrong proof; 429 past the limit."""
    settings = get_settings()
    failures = service.recent_failures(
        db_session=db,
        conversation_id=body.conversation_id,
        window_seconds=settings.lookup_failure_window_seconds,
    )
    if failures >= settings.lookup_max_failures:
        raise ApiError(
            429,
            "too_many_attempts",
            "Too many failed verification attempts",
            "Please wait a few minutes or ask for a person.",
            retry_after=settings.lookup_failure_window_seconds,
        )
    number = service.parse_order_number(body.order_number)
    head = presenter.head_by_number(db, number) if number is not None else None
    if head is None or not service.proof_matches(
        customer_email=head.email,
        ship_postal_code=head.ship_postal_code,
        email=body.email,
        postal_code=body.postal_code,
    ):
        return None
    return presenter.document(db, head, full=False)


def _record_failure(db: Session, conversation_id: str) -> None:
    db.rollback()
    begin_write(db)
    service.record_failure(db_session=db, conversation_id=conversation_id)
    db.commit()


@router.get("/{order_number}", response_model=schemas.FullOrder, responses={404: NOT_FOUND})
def get_order(order_number: str, db: DbSession, _who: Staff) -> Response:
    """The full order for staff: customer, address, lines, payments, shipments, returns, history."""
    number = service.parse_order_number(order_number[:40])
    head = presenter.head_by_number(db, number) if number is not None else None
    if head is None:
        raise ApiError(404, "order_not_found", "Order not found")
    return json_response(presenter.document(db, head, full=True))


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
