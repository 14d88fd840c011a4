"""What the customer reads about a return: why an order has nothing to return, the summary
before booking, the new RMA, and a return's status."""

from __future__ import annotations

import os
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.api_client import api_base_url
from actions.common import join_words, line_label, money, nice_date, offer_person
from actions.returns.parsing import REASONS

RESOLUTION_WORDS = {
    "refund": "a refund to your original payment method",
    "exchange": "an exchange",
    "store_credit": "store credit",
}


def refused_return(
    dispatcher: CollectingDispatcher, order: dict[str, Any], refusal: dict[str, Any]
) -> list[EventType]:
    """Word the API's `return_refusal` of an order (why nothing on it can be returned yet)."""
    number, reason = order["order_number"], refusal.get("reason") or "can't be returned"
    next_step = refusal.get("next_step")
    if next_step == "person":
        return offer_person(
            dispatcher,
            f"Order #{number} {reason}. A person on our team will arrange a refund or a "
            "replacement. Shall I connect you?",
            "lost_order" if refusal.get("code") == "lost_in_transit" else "return_not_eligible",
        )
    if next_step == "return_on_arrival":
        status = order.get("status_text") or order.get("status")
        cancel = (
            " It hasn't shipped yet, so you can also cancel it." if order.get("can_cancel") else ""
        )
        dispatcher.utter_message(
            text=f"Order #{number} {reason} (it is {status}), so there's nothing to return yet. "
            f"Once it has arrived, I can set up the return.{cancel}"
        )
        return []
    dispatcher.utter_message(text=f"Order #{number} {reason}.")
    return []


def public_url(url: str | None) -> str | None:
    """Label URLs come back relative to the API; customers need an absolute link."""
    if not url or "://" in url:
        return url
    base = os.environ.get("OPSDESK_PUBLIC_URL") or api_base_url()
    return f"{base.rstrip('/')}/{url.lstrip('/')}"


def return_summary(
    tracker: Tracker,
    answer: dict[str, Any],
    items: list[dict[str, Any]],
    reason: str,
    resolution: str,
    target: str | None,
) -> str:
    """The return as it will be booked: items, reason, resolution, fees, deadline."""
    lines = [f"Here's your return for order #{tracker.get_slot('verified_order')}:"]
    lines += [f"• {int(i['quantity'])} × {line_label(i)}" for i in items]
    lines.append(f"Reason: {REASONS.get(reason, reason).lower()}.")
    if resolution == "exchange":
        lines.append(
            f"You'll get the same item in {target or 'the size you chose'} "
            "(we ship it once your return is on its way)."
        )
    else:
        lines.append(f"You'll get {RESOLUTION_WORDS.get(resolution, resolution)}.")
    fees = answer.get("fees") or {}
    fee_parts = []
    if float(fees.get("return_shipping") or 0):
        fee_parts.append(f"return shipping {money(fees['return_shipping'])}")
    if float(fees.get("restocking") or 0):
        fee_parts.append(f"restocking {money(fees['restocking'])}")
    lines.append(
        "Fees: " + (join_words(fee_parts) + ", deducted from the amount." if fee_parts else "none.")
    )
    if resolution != "exchange" and answer.get("refund_estimate") is not None:
        what = "store credit" if resolution == "store_credit" else "refund"
        lines.append(f"Estimated {what}: {money(answer['refund_estimate'])}.")
    refused = [ln.get("reason") for ln in answer.get("lines", []) if not ln.get("eligible")]
    if refused:
        lines.append("Not included: " + "; ".join(r for r in refused if r) + ".")
    # The label's last day is the deadline to tell: a line's return_by is the end of the
    # return window, which can be later than the label booked today.
    deadlines = [ln.get("return_by") for ln in answer.get("lines", []) if ln.get("return_by")]
    if answer.get("label_valid_until"):
        lines.append(
            "Once it's booked, the prepaid label is valid until "
            f"{nice_date(answer['label_valid_until'])}: please send it back by then."
        )
    elif deadlines:
        lines.append(f"Please send it back by {nice_date(min(deadlines))}.")
    return "\n".join(lines)


def describe_new_rma(rma: dict[str, Any]) -> str:
    parts = [f"Done! Your return number is {rma['rma_number']}."]
    label = rma.get("label") or {}
    if label:
        parts.append(
            f"Here's your prepaid {label.get('carrier')} label {label.get('label_number')}: "
            f"{public_url(label.get('url'))}"
        )
    if rma.get("instructions"):
        parts.append(rma["instructions"])
    elif rma.get("return_by"):
        parts.append(f"Please send the items by {nice_date(rma['return_by'])}.")
    if rma.get("resolution") == "exchange":
        parts.append("We'll send your new size or colour as soon as the parcel is on its way.")
    elif rma.get("refund_amount") is not None:
        what = "store credit" if rma.get("resolution") == "store_credit" else "refund"
        parts.append(
            f"Your {what} of {money(rma['refund_amount'])} is issued once we've checked the "
            "items; refunds reach your card 5-10 business days after that."
        )
    return " ".join(parts)


def describe_rma(rma: dict[str, Any], verified_order: str | None) -> str:
    """Status in words; amounts and items only to the customer verified for its order."""
    parts = [f"Return {rma['rma_number']} is {rma.get('status_text') or rma.get('status')}."]
    label = rma.get("label") or {}
    if rma.get("status") == "label_issued" and label:
        parts.append(
            f"Your prepaid {label.get('carrier')} label is here: {public_url(label.get('url'))} "
            f"(please send the parcel by {nice_date(label.get('expires_at'))})."
        )
    if str(rma.get("order_number")) != str(verified_order or ""):
        return " ".join(parts)
    items = join_words(
        f"{ln['quantity']} × {ln.get('product_name', ln['sku'])}" for ln in rma.get("lines", [])
    )
    if items:
        parts.append(f"It covers {items} from order #{rma['order_number']}.")
    amount = rma.get("refund_amount")
    status, resolution = rma.get("status"), rma.get("resolution")
    if status == "refunded":
        parts.append(
            f"{money(amount)} was refunded; it reaches your card within 5-10 business days."
        )
    elif status == "credited":
        parts.append(f"{money(amount)} was added to your store credit.")
    elif resolution in ("refund", "store_credit") and status not in (
        "rejected",
        "cancelled",
        "expired",
        "closed",
    ):
        what = "refund" if resolution == "refund" else "store credit"
        parts.append(
            f"Once we've received and checked the items, your {what} of {money(amount)} is issued."
        )
    return " ".join(parts)
