"""A first mail answered by the assistant itself, against the whole system (api, action server,
`rasa run` with the trained model) with a local SMTP relay and dovecot: an order-status
question naming the order, from the order's own address, gets the order's status by email,
threaded and marked automatic; the same question from another address goes to the queue and
nobody mails the asker the order's details."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from api.stack import Process
from tests.conftest import full_system
from tests.fakes.mail import Dovecot, SmtpRelay
from tests.hub.email_support import customer_mail, email_env, text_part, wait_until


@dataclass
class MailStack:
    api_url: str
    admin_key: str
    relay: SmtpRelay
    mailbox: Dovecot
    procs: dict[str, Process]

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.api_url,
            headers={"Authorization": f"Bearer {self.admin_key}"},
            timeout=30,
        )

    def conversation_with(self, text: str) -> dict | None:
        with self.api() as api:
            listed = api.get("/api/v1/conversations", params={"channel": "email"}).json()
            for conversation in listed["items"]:
                messages = api.get(f"/api/v1/conversations/{conversation['id']}/messages").json()
                if any(text in m["text"] for m in messages["items"]):
                    return conversation
        return None

    def tickets_of(self, conversation_id: str) -> list[dict]:
        with self.api() as api:
            answer = api.get("/api/v1/tickets", params={"conversation_id": conversation_id})
            return list(answer.json()["items"])


@pytest.fixture(scope="module")
def mail_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailStack]:
    relay, mailbox = SmtpRelay().start(), Dovecot().start()
    mail_settings = email_env(relay, mailbox, rasa_url="")
    del mail_settings["OPSDESK_RASA_URL"]  # the api is pointed at the system's own rasa
    mail_settings["OPSDESK_RASA_TIMEOUT_SECONDS"] = "60"
    var = tmp_path_factory.mktemp("e2e-email") / "var"
    try:
        with full_system(var, mail_settings, timeout=600) as system:
            yield MailStack(system.api_url, system.admin_key, relay, mailbox, system.procs)
    finally:
        mailbox.stop()
        relay.stop()


def test_a_confident_order_status_mail_from_the_orders_address_is_answered_by_the_assistant(
    mail_stack: MailStack,
) -> None:
    jane = "jane.doe@example.com"
    question = customer_mail(
        jane, "Where is my order 10001?", "Hi, where is my order #10001? Thanks, Jane"
    )
    mail_stack.mailbox.deliver(question)

    [answer] = wait_until(
        "the assistant's mail", lambda: mail_stack.relay.messages_to(jane), timeout=120
    )
    body = text_part(answer)
    assert "UPS" in body and "tracking" in body.lower(), body
    assert answer["In-Reply-To"] == question["Message-ID"]
    assert answer["Subject"].startswith("Re: Where is my order 10001? [#OD-")
    assert answer["Auto-Submitted"] == "auto-replied"
    assert "Automated assistant" in body
    conversation = mail_stack.conversation_with("where is my order #10001")
    assert conversation is not None and conversation["mode"] == "bot"
    assert conversation["customer_email"] == jane  # proven by the order's address
    assert mail_stack.tickets_of(conversation["id"]) == []


def test_the_same_question_from_another_address_goes_to_a_person(mail_stack: MailStack) -> None:
    stranger = "curious@example.net"
    mail_stack.mailbox.deliver(
        customer_mail(stranger, "Order 10001", "Where is my order #10001 please?")
    )
    conversation = wait_until(
        "the conversation",
        lambda: mail_stack.conversation_with("Where is my order #10001 please?"),
        timeout=60,
    )
    [ticket] = wait_until("its ticket", lambda: mail_stack.tickets_of(conversation["id"]))
    assert ticket["reason"] == "email" and ticket["order_number"] == "10001"
    assert conversation["customer_email"] is None
    assert mail_stack.relay.messages_to(stranger) == []
