"""Routes of /api/v1/returns."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.db import begin_write, utcnow
from api.deps import (
    DbSession,
    IdempotencyKey,
    Staff,
    StaffOrService,
    decode_cursor,
    encode_cursor,
)
from api.errors import ApiError, json_response
from api.ops.auth.service import Principal
from api.ops.common.idempotency import run_once
from api.ops.orders import service as orders
from api.ops.returns import assessment, labels, options, presenter, schemas, service
from api.ops.returns.enums import RMA_STATUS_TEXT, Resolution, RmaStatus
from api.ops.returns.models import Rma
from api.ops.returns.policy import Fees, load_policy
from api.ops.verification import service as verification
from api.reads import get_reader
from api.settings import get_settings
from opsdesk_ids import canonical_rma_number, canonical_sku

router = APIRouter(prefix="/returns", tags=["returns"])


def _policy():  # noqa: ANN202
    return load_policy(get_settings().store_dir / "return_policy.yml")


def _fees(fees: Fees) -> schemas.FeesView:
    return schemas.FeesView(
        return_shipping=fees.return_shipping, restocking=fees.restocking, total=fees.total
    )


def _prove(who: Principal, body: schemas.CustomerProof, number: str) -> None:
    """Staff reach any order; the assistant only one whose customer has proven it (in its own
    short transaction: call it before the route's own writer begins)."""
    if who.role == "service":
        verification.prove_order(
            order_number=number,
            conversation_id=body.conversation_id,
            email=body.email,
            postal_code=body.postal_code,
        )


def rma_view(db: Session, rma: Rma) -> dict:
    return presenter.of(db, rma, _policy())


PROOF_ERRORS: dict[int | str, dict] = {
    404: {"description": "Unknown order, or the email / postal code does not match it"},
    429: {"description": "Too many failed verification attempts for this conversation or order"},
}


@router.post("/eligibility", response_model=schemas.EligibilityResponse, responses=PROOF_ERRORS)
def check_eligibility(
    body: schemas.EligibilityRequest, db: DbSession, who: StaffOrService
) -> schemas.EligibilityResponse:
    """Per line: can it be returned, why or why not in words a customer understands, fees,
    options, and what the customer would get back."""
    _prove(who, body, body.order_number)
    order = orders.get_by_number_or_raise(db_session=db, order_number=body.order_number)
    policy = _policy()
    found = assessment.assess(
        db_session=db,
        policy=policy,
        order=order,
        lines=[
            assessment.RequestedLine(sku=ln.sku, quantity=ln.quantity, reason=ln.reason)
            for ln in body.lines
        ],
        resolution=body.resolution,
    )
    unit_prices = {sku: line.unit_price for sku, line in found.order_lines.items()}
    reasons: dict[str, str | None] = {canonical_sku(ln.sku): ln.reason for ln in body.lines}
    return schemas.EligibilityResponse(
        order_number=str(order.number),
        resolution=body.resolution.value,
        all_eligible=found.all_eligible,
        lines=[
            schemas.LineEligibility(
                sku=d.sku,
                quantity=d.quantity,
                eligible=d.eligible,
                reason=d.reason,
                fees=_fees(d.fees),
                options=list(d.options),
                exchange_for=[
                    schemas.ExchangeTargetView(**asdict(target))
                    for target in (
                        options.exchange_targets(db_session=db, sku=d.sku, quantity=d.quantity)
                        if Resolution.exchange in d.options
                        else []
                    )
                ],
                refund_estimate=d.refund_estimate,
                return_by=d.return_by,
                condition=d.condition,
            )
            for d in found.decisions
        ],
        fees=_fees(found.settlement.fees),
        refund_estimate=found.settlement.refund_amount,
        resolution_options=[
            schemas.ResolutionOptionView(**asdict(option))
            for option in options.resolution_options(policy, found.decisions, unit_prices, reasons)
        ],
        label_valid_until=(utcnow() + timedelta(days=policy.label_valid_days)).date(),
    )


@router.post(
    "",
    status_code=201,
    response_model=schemas.RmaView,
    responses={
        **PROOF_ERRORS,
        409: {"description": "Exchange item out of stock, or Idempotency-Key reused"},
        422: {"description": "Not eligible: the policy reason is in detail"},
    },
)
def create_return(
    body: schemas.CreateReturnRequest,
    db: DbSession,
    who: StaffOrService,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Create an RMA: approved with a prepaid label when every line is within policy."""

    def create() -> tuple[int, dict]:
        order = orders.get_by_number_or_raise(db_session=db, order_number=body.order_number)
        rma = service.create(
            db_session=db,
            policy=_policy(),
            order=order,
            lines=[
                assessment.RequestedLine(
                    sku=ln.sku, quantity=ln.quantity, reason=ln.reason, exchange_sku=ln.exchange_sku
                )
                for ln in body.lines
            ],
            resolution=body.resolution,
            actor=who.name,
            conversation_id=body.conversation_id,
        )
        return 201, rma_view(db, rma)

    _prove(who, body, body.order_number)
    begin_write(db)
    status, payload = run_once(
        db_session=db,
        principal=who.name,
        key=idempotency_key,
        scope="POST /returns",
        body=body.model_dump(mode="json"),
        create=create,
    )
    return JSONResponse(payload, status_code=status)


@router.get("", response_model=schemas.RmaList)
def list_returns(
    db: DbSession,
    _who: Staff,
    order_number: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[RmaStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> schemas.RmaList:
    order_id = None
    if order_number:
        order = orders.get_by_number(db_session=db, order_number=order_number)
        if order is None:
            return schemas.RmaList(items=[], next_cursor=None)
        order_id = order.id
    rmas = service.list_returns(
        db_session=db,
        order_id=order_id,
        status=status.value if status else None,
        before_id=decode_cursor(cursor),
        limit=limit + 1,
    )
    page = rmas[:limit]
    return schemas.RmaList(
        items=[schemas.RmaView.model_validate(rma_view(db, r)) for r in page],
        next_cursor=encode_cursor(page[-1].id) if len(rmas) > limit else None,
    )


@router.get(
    "/{rma_number}",
    response_model=schemas.RmaView | schemas.RmaStatusView,
    responses=PROOF_ERRORS,
)
async def get_return(
    rma_number: str,
    who: StaffOrService,
    email: Annotated[str | None, Query(max_length=254)] = None,
    postal_code: Annotated[str | None, Query(max_length=16)] = None,
    conversation_id: Annotated[str | None, Query(min_length=1, max_length=120)] = None,
) -> Response:
    """One return with its lines, label, money and status in words.

    RMA numbers are sequential, so with the service key the order, items and amounts are
    shown only with the `email` or `postal_code` of the order (failed proofs are limited per
    conversation and per RMA, as for orders); otherwise just the status."""
    number = canonical_rma_number(rma_number[:40])
    proving = who.role == "service" and bool(email or postal_code)
    if proving:
        await run_in_threadpool(
            verification.prove_rma,
            rma_number=number,
            conversation_id=conversation_id,
            email=email,
            postal_code=postal_code,
        )
    # One statement on the driver directly, like the order lookup (api/reads.py).
    reader = get_reader()
    row = (
        await reader.fetch_one(presenter.rma_by_number_sql(reader.dialect), {"rma_number": number})
        if number
        else None
    )
    rma = presenter.parse(row[0]) if row else None
    if rma is None:
        raise ApiError(404, "rma_not_found", "Return not found")
    document = presenter.document(rma, _policy())
    if who.role == "service" and not proving:
        document = public_rma_view(document)
    return json_response(document)


PUBLIC_RMA_FIELDS = tuple(f for f in schemas.RmaStatusView.model_fields if f != "instructions")


def public_rma_view(document: dict) -> dict:
    """What the assistant may show about a return without the customer's proof: its status,
    never the order, items, amounts or label (the instructions name the label number)."""
    public = {k: document[k] for k in PUBLIC_RMA_FIELDS}
    public["instructions"] = f"This return is {RMA_STATUS_TEXT[RmaStatus(document['status'])]}."
    return public


@router.post(
    "/{rma_number}/transition",
    response_model=schemas.RmaView,
    responses={409: {"description": "The return's lifecycle does not allow this change"}},
)
def transition_return(
    rma_number: str, body: schemas.TransitionRequest, db: DbSession, who: Staff
) -> Response:
    """Move a return along requested → approved → label_issued → in_transit → received →
    inspected → refunded / exchanged / credited → closed (or rejected, cancelled, expired).
    Inspection needs a disposition per SKU; `restock` puts the units back in stock."""
    begin_write(db)
    rma = service.get_by_number_or_raise(db_session=db, rma_number=rma_number[:40])
    service.transition(
        db_session=db,
        rma=rma,
        to=body.to,
        actor=who.name,
        note=body.note,
        dispositions=body.dispositions,
    )
    db.commit()
    return json_response(rma_view(db, rma))


labels_router = APIRouter(tags=["returns"])


@labels_router.get(
    "/labels/{rma_number}.pdf",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "The label, 4 x 6 inches"},
        404: {"description": "Unknown return, or the token does not belong to its label"},
        410: {"description": "The return is past the label (used, expired or cancelled)"},
    },
)
def get_label(
    rma_number: str,
    db: DbSession,
    token: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """The prepaid return label as a PDF. Customers open it from the assistant's link, which
    carries a token in place of an API key."""
    rma = service.get_by_number(db_session=db, rma_number=rma_number[:40])
    if rma is None or not labels.token_matches(rma.rma_number, rma.label_number, token):
        raise ApiError(404, "label_not_found", "Label not found")
    expires_at = rma.label_expires_at
    if (
        rma.status not in (RmaStatus.label_issued, RmaStatus.in_transit)
        or expires_at is None
        or expires_at < utcnow()
    ):
        raise ApiError(
            410,
            "label_no_longer_valid",
            "This return label can no longer be used",
            f"Return {rma.rma_number} is {RMA_STATUS_TEXT[RmaStatus(rma.status)]}.",
        )
    order = rma.order
    names = {line.id: line.product_name for line in order.lines}
    policy = _policy()
    address = policy.returns_address
    label = labels.Label(
        carrier=rma.label_carrier or policy.label_carrier,
        label_number=rma.label_number or "",
        rma_number=rma.rma_number,
        order_number=order.number,
        expires_at=expires_at,
        ship_from=labels.Address(
            name=order.ship_name,
            line1=order.ship_line1,
            city=order.ship_city,
            region=order.ship_region,
            postal_code=order.ship_postal_code,
            country=order.ship_country,
        ),
        ship_to=labels.Address(
            name=address.get("name", "Returns"),
            line1=address.get("line1", ""),
            city=address.get("city", ""),
            region=address.get("region", ""),
            postal_code=address.get("postal_code", ""),
            country=address.get("country", ""),
        ),
        items=[(line.quantity, names.get(line.order_line_id, line.sku)) for line in rma.lines],
    )
    return Response(
        labels.render_pdf(label),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{rma.rma_number}-label.pdf"',
            "Cache-Control": "private, no-store",
        },
    )
