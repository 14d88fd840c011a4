"""Proof of identity for customers (an order's email or postal code) and the limit on failed
proofs: the one place every route that checks a customer's proof goes through.

An attempt is admitted or refused by one atomic statement that also counts it when it fails,
per conversation and per order (or RMA) number, so concurrent guesses cannot all slip past a
count read before the failures are written, and a new conversation id buys no more guesses
on the same order. The proof is read with the same statement whether or not the order exists,
and nothing else is read before the attempt is admitted and proven: an unknown order and a
wrong email cost the same work and get the same answer.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from api import metrics
from api.db import begin_write, session_scope, utcnow
from api.errors import ApiError
from api.ops.conversations import service as conversations
from api.ops.customers.models import Customer
from api.ops.orders.models import Order
from api.ops.returns.models import Rma
from api.ops.verification.models import VerificationBucket
from api.settings import get_settings
from opsdesk_ids import ascii_digits, parse_order_number

log = logging.getLogger("opsdesk.verification")
# Compared with when there is no order, so the comparison costs the same; NUL never matches
# what a customer typed (the api refuses text with NUL characters).
_NO_PROOF = ("\x00", "\x00")


@dataclass(frozen=True)
class Limits:
    per_conversation: int
    per_order: int
    window: timedelta


def limits() -> Limits:
    settings = get_settings()
    return Limits(
        per_conversation=settings.lookup_max_failures,
        per_order=settings.lookup_max_failures_per_order,
        window=timedelta(seconds=settings.lookup_failure_window_seconds),
    )


def order_key(raw: str | None) -> str:
    """What failed proofs of an order number are counted under: its digits without leading
    zeros, so '#10482', '010482' and '10 482' are one order ('10482') however it is written;
    'none' when the text has no number."""
    return ascii_digits(raw or "").lstrip("0") or "none"


def normalize_postal_code(raw: str) -> str:
    code = re.sub(r"[\s-]", "", raw or "").upper()
    # A US ZIP+4 matches its five-digit ZIP.
    return code[:5] if code.isdigit() and len(code) == 9 else code


def proof_matches(
    *, customer_email: str, ship_postal_code: str, email: str | None, postal_code: str | None
) -> bool:
    """Does the email or postal code the customer gave match the order's?"""
    if email and customer_email == email.strip().lower():
        return True
    return bool(
        postal_code
        and normalize_postal_code(ship_postal_code) == normalize_postal_code(postal_code)
    )


Proof = Any  # a SELECT of (customer email, shipping postal code): one row, NULLs for none


def _one_row() -> Any:
    # Proofs are read by LEFT JOIN from a one-row constant: a missing order or return gives a
    # row of NULLs from the same plan, not an empty result from a shorter one.
    return select(literal(1).label("one")).subquery()


def _proof_of_order(number: int | None) -> Proof:
    return (
        select(Customer.email, Order.ship_postal_code)
        .select_from(_one_row())
        .outerjoin(Order, Order.number == (number if number is not None else 0))
        .outerjoin(Customer, Customer.id == Order.customer_id)
    )


def _proof_of_rma(rma_number: str | None) -> Proof:
    return (
        select(Customer.email, Order.ship_postal_code)
        .select_from(_one_row())
        .outerjoin(Rma, Rma.rma_number == (rma_number or ""))
        .outerjoin(Order, Order.id == Rma.order_id)
        .outerjoin(Customer, Customer.id == Order.customer_id)
    )


@dataclass(frozen=True)
class Attempt:
    """One customer's try at proving who they are for an order or a return."""

    subject_key: str  # 'order:10482' or 'rma:RMA-000004': counted whatever the conversation
    conversation_id: str | None
    email: str | None
    postal_code: str | None


@dataclass(frozen=True)
class Admission:
    """None retry_after: admitted, with `tries_left` failed proofs before the limit (the
    fewest of any bucket); else the seconds until the fullest bucket's window ends."""

    retry_after: int | None
    tries_left: int


def admit(
    *, db_session: Session, keys: dict[str, int], failed: bool, now: datetime, window: timedelta
) -> Admission:
    """Count the attempt (when `failed`) in every bucket of `keys` (key -> max failures) in one
    statement, unless a bucket is already at its limit."""
    cutoff = now - window
    insert = (
        postgresql.insert(VerificationBucket)
        if db_session.get_bind().dialect.name == "postgresql"
        else sqlite.insert(VerificationBucket)
    )
    table = VerificationBucket.__table__
    stmt = insert.values(
        [
            {"key": key, "failures": int(failed), "max_failures": limit, "window_started_at": now}
            for key, limit in sorted(keys.items())  # one lock order: no deadlocks on PostgreSQL
        ]
    )
    expired = table.c.window_started_at < cutoff
    upsert = stmt.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "failures": case(
                (expired, stmt.excluded.failures),
                else_=table.c.failures + stmt.excluded.failures,
            ),
            "window_started_at": case(
                (expired, stmt.excluded.window_started_at), else_=table.c.window_started_at
            ),
            "max_failures": stmt.excluded.max_failures,
        },
        where=expired | (table.c.failures < stmt.excluded.max_failures),
    ).returning(table.c.key, table.c.failures, table.c.max_failures)
    rows = db_session.execute(upsert).all()
    admitted = {row.key for row in rows}
    if admitted == set(keys):
        return Admission(None, min(row.max_failures - row.failures for row in rows))
    started = db_session.scalar(
        select(func.max(table.c.window_started_at)).where(table.c.key.in_(set(keys) - admitted))
    )
    remaining = (started + window - now).total_seconds() if started else window.total_seconds()
    return Admission(max(1, int(remaining + 0.999)), 0)


def prove(attempt: Attempt, proof: Proof) -> None:
    """Admit and check one attempt in its own short transaction (so a failure stays counted
    whatever the caller does next). Raises 429 too_many_attempts or the caller's 404."""
    lim = limits()
    keys = {attempt.subject_key: lim.per_order}
    if attempt.conversation_id:
        keys[f"conversation:{attempt.conversation_id}"] = lim.per_conversation
    with session_scope() as db:
        begin_write(db)
        row = db.execute(proof).one()
        found_email, found_postal_code = row[0], row[1]
        customer_email, ship_postal_code = (
            (found_email, found_postal_code or "") if found_email is not None else _NO_PROOF
        )
        proven = proof_matches(
            customer_email=customer_email,
            ship_postal_code=ship_postal_code,
            email=attempt.email,
            postal_code=attempt.postal_code,
        )
        admission = admit(
            db_session=db, keys=keys, failed=not proven, now=utcnow(), window=lim.window
        )
        retry_after = admission.retry_after
        if proven and retry_after is None and attempt.conversation_id:
            # The conversation's customer is who just proved it (the console shows them).
            conversations.note_customer(
                db_session=db, conversation_id=attempt.conversation_id, email=customer_email
            )
    if retry_after is not None:
        raise ApiError(
            429,
            "too_many_attempts",
            "Too many failed verification attempts",
            "Please wait a few minutes or ask for a person.",
            retry_after=retry_after,
            tries_left=0,
            blocked=True,
        )
    if not proven:
        metrics.verification_failed()
        log.info("verification failed for %s", attempt.subject_key)
        raise NotProven(admission.tries_left)


class NotProven(Exception):
    """The email or postal code does not match (or there is no such order): callers answer
    with their own 404, the same as for an unknown order, saying how many tries are left."""

    def __init__(self, tries_left: int) -> None:
        super().__init__(f"not proven, {tries_left} tries left")
        self.tries_left = tries_left


def not_found(code: str, title: str, refused: NotProven) -> ApiError:
    """The 404 of a failed proof: the same for an unknown number, with the tries left (the
    API owns the limit; the assistant only says it)."""
    return ApiError(
        404,
        code,
        title,
        tries_left=refused.tries_left,
        blocked=refused.tries_left <= 0,
    )


def prove_order(
    *,
    order_number: str,
    conversation_id: str | None,
    email: str | None,
    postal_code: str | None,
) -> int:
    """The order number, once the customer has proven they own it; 404 order_not_found for a
    wrong proof and an unknown order alike, 429 past the limit."""
    number = parse_order_number(order_number)
    try:
        prove(
            Attempt(f"order:{order_key(order_number)}", conversation_id, email, postal_code),
            _proof_of_order(number),
        )
    except NotProven as refused:
        raise not_found("order_not_found", "Order not found", refused) from None
    assert number is not None  # a proof matched, so the order exists
    return number


def prove_rma(
    *,
    rma_number: str | None,
    conversation_id: str | None,
    email: str | None,
    postal_code: str | None,
) -> None:
    """As prove_order, for a return by its RMA number (already canonical or None)."""
    try:
        prove(
            Attempt(f"rma:{rma_number or 'none'}", conversation_id, email, postal_code),
            _proof_of_rma(rma_number),
        )
    except NotProven as refused:
        raise not_found("rma_not_found", "Return not found", refused) from None
