"""Whole conversations over Rasa's REST channel against the real api, action server and
trained model; each checks the replies and what changed in the database."""

from __future__ import annotations

import re

import httpx

from tests.e2e.conftest import Conversation, Stack


def counts(stack: Stack) -> tuple[object, ...]:
    return (
        stack.scalar("SELECT count(*) FROM rmas"),
        stack.scalar("SELECT count(*) FROM tickets"),
        stack.scalar("SELECT count(*) FROM orders WHERE status = 'cancelled'"),
    )


def test_order_status_is_answered_from_the_record(stack: Stack, chat: Conversation) -> None:
    before = counts(stack)
    tracking = stack.scalar(
        "SELECT s.tracking_number FROM shipments s JOIN orders o ON o.id = s.order_id "
        "WHERE o.number = 10001"
    )
    chat.say("hi")
    reply = chat.say("hey where is my order #10001")
    if "tracking" not in reply.lower():
        reply = chat.say("jane.doe@example.com")
    assert "UPS" in reply and str(tracking) in reply, chat.transcript
    # A verified customer is not asked again for another order of theirs.
    other = chat.say("and my other order 10010?")
    assert "out for delivery" in other.lower(), chat.transcript
    assert "email" not in other.lower()
    assert counts(stack) == before


def test_wrong_email_three_times_offers_a_person(stack: Stack, chat: Conversation) -> None:
    failures_before = stack.scalar(
        "SELECT coalesce(sum(failures), 0) FROM verification_buckets WHERE key = 'order:10002'"
    )
    reply = chat.say("where's my package? order 10002")
    for i in range(3):
        if "order number" in reply.lower():
            reply = chat.say("10002")
        reply = chat.say(f"wrong{i}@example.com")
    assert any(w in reply.lower() for w in ("person", "agent", "human", "team")), chat.transcript
    assert "FedEx" not in " ".join(text for _, text in chat.transcript)  # nothing leaked
    failures = stack.scalar(
        "SELECT coalesce(sum(failures), 0) FROM verification_buckets WHERE key = 'order:10002'"
    )
    assert failures == failures_before + 3  # type: ignore[operator]


def test_delayed_order_apologises_and_offers_a_person(stack: Stack, chat: Conversation) -> None:
    reply = chat.say("where is order 10002, email sam.lee@example.com")
    if "delay" not in reply.lower():
        reply = chat.say("sam.lee@example.com")
    assert "delay" in reply.lower() and "sorry" in reply.lower(), chat.transcript


def test_return_creates_one_rma_with_label(stack: Stack, chat: Conversation) -> None:
    before_tickets = stack.scalar("SELECT count(*) FROM tickets")
    reply = chat.say("I want to return the linen shirt from order 10003, it's too small")
    for _ in range(8):
        low = reply.lower()
        if re.search(r"RMA-\d{6}", reply):
            break
        if "shall i" in low or "confirm" in low:
            reply = chat.say("yes")
        elif "email" in low or "postal" in low:
            reply = chat.say("jane.doe@example.com")
        elif any("linen" in b["title"].lower() for b in chat.last_buttons):
            reply = chat.button("linen")
        elif "refund" in low and ("exchange" in low or "credit" in low):
            reply = chat.say("refund please")
        elif "why" in low or "reason" in low:
            reply = chat.say("it's too small")
        elif "how many" in low:
            reply = chat.say("1")
        else:
            raise AssertionError(f"unexpected turn: {chat.transcript}")
    rma = re.search(r"RMA-\d{6}", reply)
    assert rma, chat.transcript
    assert (
        stack.scalar(
            "SELECT count(*) FROM rmas r JOIN orders o ON o.id = r.order_id "
            "WHERE o.number = 10003 AND r.rma_number = :n",
            n=rma.group(0),
        )
        == 1
    )
    assert (
        stack.scalar(
            "SELECT sku FROM rma_lines l JOIN rmas r ON r.id = l.rma_id WHERE r.rma_number = :n",
            n=rma.group(0),
        )
        == "LBS-WHITE-M"
    )
    label = stack.scalar("SELECT label_number FROM rmas WHERE rma_number = :n", n=rma.group(0))
    assert label and str(label) in reply
    assert stack.scalar("SELECT count(*) FROM tickets") == before_tickets
    # The label link in the reply opens the PDF, as the customer's browser would (no key).
    link = re.search(r"https?://\S+/labels/RMA-\d{6}\.pdf\?token=[\w-]+", reply)
    assert link, reply
    pdf = httpx.get(link.group(0), timeout=10)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-") and str(label).encode() in pdf.content


def test_final_sale_item_is_refused_with_the_policy_reason(
    stack: Stack, chat: Conversation
) -> None:
    before = stack.scalar("SELECT count(*) FROM rmas")
    reply = chat.say("i want to send back the satin slip dress from order 10003")
    if "email" in reply.lower():
        reply = chat.say("jane.doe@example.com")
    for _ in range(4):
        if "final" in reply.lower():
            break
        if chat.last_buttons and any("slip" in b["title"].lower() for b in chat.last_buttons):
            reply = chat.button("slip")
        else:
            reply = chat.say("the satin slip dress")
    assert "final" in reply.lower(), chat.transcript
    assert stack.scalar("SELECT count(*) FROM rmas") == before


def test_cancel_an_unshipped_order(stack: Stack, chat: Conversation) -> None:
    reply = chat.say("please cancel my order 10007")
    for _ in range(4):
        if stack.scalar("SELECT status FROM orders WHERE number = 10007") == "cancelled":
            break
        low = reply.lower()
        if "email" in low or "postal" in low or "zip" in low:
            reply = chat.say("mia.chen@example.com")
        else:
            reply = chat.say("yes")
    assert stack.scalar("SELECT status FROM orders WHERE number = 10007") == "cancelled", (
        chat.transcript
    )
    assert "cancelled" in reply.lower()


def test_shipped_order_cannot_be_cancelled_and_nothing_changes(
    stack: Stack, chat: Conversation
) -> None:
    reply = chat.say("cancel order 10001 jane.doe@example.com")
    for _ in range(3):
        if "can't be cancelled" in reply.lower() or "cannot be cancelled" in reply.lower():
            break
        reply = chat.say(
            "yes" if "sure" in reply.lower() or "?" in reply else "jane.doe@example.com"
        )
    assert "shipped" in reply.lower(), chat.transcript
    assert stack.scalar("SELECT status FROM orders WHERE number = 10001") == "shipped"


def test_asking_for_a_person_opens_a_ticket_with_a_summary(
    stack: Stack, chat: Conversation
) -> None:
    chat.say("hi")
    reply = chat.say("this is ridiculous, let me talk to a real person")
    tickets = stack.scalar("SELECT count(*) FROM tickets WHERE conversation_id = :c", c=chat.sender)
    if tickets == 0:
        reply = chat.say("yes")
    assert (
        stack.scalar("SELECT count(*) FROM tickets WHERE conversation_id = :c", c=chat.sender) == 1
    )
    assert any(w in reply.lower() for w in ("person", "agent", "team")), chat.transcript


def test_product_question_and_stock(stack: Stack, chat: Conversation) -> None:
    shipping = chat.say("how long does shipping take?")
    assert "business days" in shipping.lower(), chat.transcript
    stock = chat.say("do you have the recycled puffer jacket in olive size M?")
    assert (
        "restock" in stock.lower()
        or "back in stock" in stock.lower()
        or "out of stock" in stock.lower()
    ), chat.transcript


def test_a_greeting_around_a_request_is_the_request(stack: Stack, chat: Conversation) -> None:
    reply = chat.say("hey there! my package never showed up, can you look into it?")
    assert "order number" in reply.lower(), chat.transcript
    reply = chat.say("it's #10001")
    if "tracking" not in reply.lower():
        reply = chat.say("jane.doe@example.com")
    assert "UPS" in reply, chat.transcript


def test_a_question_about_the_return_rules_is_answered_then_a_return_offered(
    stack: Stack, chat: Conversation
) -> None:
    before = counts(stack)
    reply = chat.say("how long have I got to send things back?")
    assert "days" in reply.lower() and "order number" not in reply.lower(), chat.transcript
    assert {"title": "Start a return", "payload": "/initiate_return"} in chat.last_buttons
    # Misspelt, the same question still finds the policy.
    misspelt = chat.say("whats ur retrun policy")
    assert "days" in misspelt.lower(), chat.transcript
    assert counts(stack) == before
    started = chat.say("/initiate_return")
    assert "order number" in started.lower(), chat.transcript


def test_sql_and_oversize_messages_are_handled(stack: Stack, chat: Conversation) -> None:
    before = counts(stack)
    chat.say("'; DROP TABLE orders; --")
    chat.say("where is my order " + "x" * 5000)
    assert counts(stack) == before
    assert stack.scalar("SELECT count(*) FROM orders") > 0  # type: ignore[operator]


def test_api_down_is_said_plainly(stack: Stack, chat: Conversation) -> None:
    """Runs last: it stops the api process of the session's stack."""
    stack.procs["api"].stop()
    reply = chat.say("where is my order 10001? jane.doe@example.com")
    if not any(w in reply.lower() for w in ("reach", "trouble", "down")):
        reply = chat.say("jane.doe@example.com")
    assert any(w in reply.lower() for w in ("reach", "trouble", "down")), chat.transcript
    assert any(w in reply.lower() for w in ("person", "ticket", "email", "agent")), chat.transcript
    assert (
        httpx.post(
            f"{stack.rasa_url}/webhooks/rest/webhook",
            json={"sender": chat.sender, "message": "hello"},
            timeout=30,
        ).status_code
        == 200
    )
