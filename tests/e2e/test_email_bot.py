"""A first mail answered by the assistant itself, against the whole system (api, action server,
`rasa run` with the trained model) with a local SMTP relay and dovecot: an order-status
question naming the order, from the order's own address, gets the order's status by email,
threaded and marked automatic; the same question from another address goes to the queue and
nobody mails the asker the order's details."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from api import cli
from api.stack import Process
from tests.conftest import REPO, free_port
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
    assert cli.train().exists()
    relay, mailbox = SmtpRelay().start(), Dovecot().start()
    var = tmp_path_factory.mktemp("e2e-email") / "var"
    keys = {
        "OPSDESK_ADMIN_KEY": secrets.token_urlsafe(24),
        "OPSDESK_SERVICE_KEY": secrets.token_urlsafe(24),
    }
    mail_settings = email_env(relay, mailbox, rasa_url="")
    del mail_settings["OPSDESK_RASA_URL"]  # start_processes points the api at its own rasa
    mail_settings["OPSDESK_RASA_TIMEOUT_SECONDS"] = "60"
    overrides = {
        "OPSDESK_VAR_DIR": str(var),
        "OPSDESK_DATABASE_URL": f"sqlite:///{var / 'ops.db'}",
        **keys,
        **mail_settings,
    }
    subprocess.run(
        [sys.executable, "-m", "api.cli", "seed"],
        cwd=REPO,
        check=True,
        env={**os.environ, **overrides},
        capture_output=True,
    )
    ports = free_port(), free_port(), free_port()
    procs = cli.start_processes(*ports, env_overrides=overrides, log_dir=var / "logs", timeout=600)
    yield MailStack(
        f"http://127.0.0.1:{ports[0]}", keys["OPSDESK_ADMIN_KEY"], relay, mailbox, procs
    )
    cli.stop_processes(procs)
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
