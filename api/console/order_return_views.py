"""Actions on returns and orders from a conversation: approve, reject, label, cancel."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.console.accounts import SignedIn
from api.console.web import (
    Csrf,
    Me,
    answer_form,
    check_csrf,
)
from api.db import begin_write
from api.deps import DbSession
from api.errors import ApiError
from api.hub import get_hub
from api.ops.conversations import flows as conversation_flows
from api.ops.orders import service as orders
from api.ops.returns import service as returns
from api.ops.returns.enums import RmaStatus
from api.ops.returns.policy import load_policy
from api.settings import get_settings

router = APIRouter(prefix="/console", include_in_schema=False)


# -- returns and orders ---------------------------------------------------------------------


def _policy() -> Any:
    return load_policy(get_settings().store_dir / "return_policy.yml")


def _tell_customer(db: Session, conversation_id: str | None, text: str, me: SignedIn) -> bool:
    """Send the customer what they need to know about an action, on their channel."""
    if not conversation_id:
        return False
    conversation_flows.agent_reply(
        db_session=db,
        conversation_id=conversation_id,
        text=text,
        agent_name=me.first_name,
        actor=me.email,
    )
    return True


def _run_and_answer(
    request: Request,
    db: Session,
    conversation_id: str | None,
    run: Callable[[str | None], tuple[str, bool]],
) -> Response:
    """Run one console action in one transaction and go back to the conversation (or the
    queue) with its notice, or with its error and nothing changed. `run` gives the notice and
    whether it told the customer, whose message goes out once committed."""
    url = f"/console/conversations/{conversation_id}" if conversation_id else "/console"
    try:
        notice, told = run(conversation_id)
    except ApiError as exc:
        db.rollback()
        return answer_form(url, request, error=exc.detail or exc.title)
    db.commit()
    if told and conversation_id:
        get_hub().deliver_soon(conversation_id)
    return answer_form(url, request, notice=notice)


def _rma_action(
    request: Request,
    db: Session,
    rma_number: str,
    back_to: str | None,
    fn: Callable[[Any, str | None], tuple[str, bool]],
) -> Response:
    """An action on a return: an unknown RMA is a 404; back to the given conversation, else
    the return's own."""
    begin_write(db)
    rma = returns.get_by_number_or_raise(db_session=db, rma_number=rma_number[:40])
    return _run_and_answer(
        request, db, back_to or rma.conversation_id, lambda conversation: fn(rma, conversation)
    )


@router.post("/returns/{rma_number}/approve")
def approve_return(
    rma_number: str,
    request: Request,
    db: DbSession,
    me: Me,
    conversation_id: Annotated[str | None, Form(max_length=120)] = None,
    csrf_token: Csrf = "",
) -> Response:
    check_csrf(me, csrf_token)

    def run(rma: Any, conv: str | None) -> tuple[str, bool]:
        returns.transition(db_session=db, rma=rma, to=RmaStatus.approved, actor=me.email)
        return f"{rma.rma_number} approved.", False

    return _rma_action(request, db, rma_number, conversation_id, run)


@router.post("/returns/{rma_number}/reject")
def reject_return(
    rma_number: str,
    request: Request,
    db: DbSession,
    me: Me,
    reason: Annotated[str, Form(max_length=500)] = "",
    conversation_id: Annotated[str | None, Form(max_length=120)] = None,
    csrf_token: Csrf = "",
) -> Response:
    """Reject with a reason the customer sees: it is sent to them and kept in the audit log."""
    check_csrf(me, csrf_token)

    def run(rma: Any, conv: str | None) -> tuple[str, bool]:
        if not reason.strip():
            raise ApiError(
                422, "reason_required", "A reason is needed", "Say why, for the customer."
            )
        returns.transition(
            db_session=db, rma=rma, to=RmaStatus.rejected, actor=me.email, note=reason.strip()
        )
        told = _tell_customer(
            db,
            conv,
            f"About your return {rma.rma_number}: we can't accept it. {reason.strip()}",
            me,
        )
        return f"{rma.rma_number} rejected" + (" and the customer told." if told else "."), told

    return _rma_action(request, db, rma_number, conversation_id, run)


@router.post("/returns/{rma_number}/label")
def issue_label(
    rma_number: str,
    request: Request,
    db: DbSession,
    me: Me,
    conversation_id: Annotated[str | None, Form(max_length=120)] = None,
    csrf_token: Csrf = "",
) -> Response:
    check_csrf(me, csrf_token)

    def run(rma: Any, conv: str | None) -> tuple[str, bool]:
        returns.issue_label(db_session=db, rma=rma, policy=_policy(), actor=me.email)
        return f"New label {rma.label_number} for {rma.rma_number}.", False

    return _rma_action(request, db, rma_number, conversation_id, run)


@router.post("/orders/{order_number}/cancel")
def cancel_order(
    order_number: str,
    request: Request,
    db: DbSession,
    me: Me,
    reason: Annotated[str, Form(max_length=300)] = "",
    conversation_id: Annotated[str | None, Form(max_length=120)] = None,
    csrf_token: Csrf = "",
) -> Response:
    """Cancel through the order status machine: refused with the reason once shipped."""
    check_csrf(me, csrf_token)
    begin_write(db)

    def run(_conversation: str | None) -> tuple[str, bool]:
        order = orders.get_by_number_or_raise(db_session=db, order_number=order_number[:40])
        orders.cancel(
            db_session=db,
            order=order,
            actor=me.email,
            reason=reason.strip() or "cancelled by the support team",
        )
        return f"Order #{order.number} is cancelled.", False

    return _run_and_answer(request, db, conversation_id, run)
