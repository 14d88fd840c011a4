"""What the email channel's tests share: an api process whose email channel points at a local
SMTP relay (aiosmtpd) and a local IMAP mailbox (dovecot), the stand-in assistant for chat,
the console signed in as the demo agent, and mails written the way mail programs write them."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import Store, drop_store, new_store, start_api, stop_api
from tests.console.conftest import ConsoleClient, ConsoleStore
from tests.fakes.mail import IMAP_PASSWORD, IMAP_USER, Dovecot, SmtpRelay
from tests.hub.chat_customer import ChatCustomer
from tests.hub.standin_rasa import StandInRasa

SUPPORT = "help@fernhill.example"
# Above the test mails, below the oversized one.
MAX_MESSAGE_BYTES = 60_000
_sequence = itertools.count(1)


def email_env(relay: SmtpRelay, mailbox: Dovecot, rasa_url: str) -> dict[str, str]:
    return {
        "OPSDESK_SMTP_URL": relay.url,
        "OPSDESK_SMTP_STARTTLS": "false",  # the local relay speaks plain SMTP
        "OPSDESK_SUPPORT_EMAIL": f"Fernhill & Co. <{SUPPORT}>",
        "OPSDESK_IMAP_URL": mailbox.url,
        "OPSDESK_IMAP_USER": IMAP_USER,
        "OPSDESK_IMAP_PASSWORD": IMAP_PASSWORD,
        "OPSDESK_IMAP_POLL_SECONDS": "0.5",
        "OPSDESK_EMAIL_RETRY_BASE_SECONDS": "0.5",
        "OPSDESK_EMAIL_RETRY_MAX_SECONDS": "1",
        "OPSDESK_EMAIL_BATCH_SECONDS": "0.3",
        "OPSDESK_EMAIL_MAX_MESSAGE_BYTES": str(MAX_MESSAGE_BYTES),
        "OPSDESK_RASA_URL": rasa_url,
        "OPSDESK_RASA_TIMEOUT_SECONDS": "3",
    }


class EmailStore:
    """The api with its mail servers, seen as the customer (mail), the agent (console) and an
    admin (ops API) see it."""

    def __init__(self, store: Store, relay: SmtpRelay, mailbox: Dovecot, rasa: StandInRasa):
        self.store, self.relay, self.mailbox, self.rasa = store, relay, mailbox, rasa
        self.console = ConsoleStore(store)
        self._agent: ConsoleClient | None = None

    def agent(self) -> ConsoleClient:
        if self._agent is None:
            self._agent = self.console.agent()
        return self._agent

    def api(self, role: str = "admin") -> httpx.Client:
        return self.store.client(role)

    def conversations(self, channel: str = "email") -> list[dict[str, Any]]:
        with self.api("agent") as api:
            r = api.get("/api/v1/conversations", params={"channel": channel, "limit": 200})
            assert r.status_code == 200, r.text
            return list(r.json()["items"])

    def transcript(self, conversation_id: str) -> list[dict[str, Any]]:
        with self.api("agent") as api:
            r = api.get(f"/api/v1/conversations/{conversation_id}/messages", params={"limit": 500})
            assert r.status_code == 200, r.text
            return list(r.json()["items"])

    def tickets_of(self, conversation_id: str) -> list[dict[str, Any]]:
        with self.api("agent") as api:
            r = api.get("/api/v1/tickets", params={"conversation_id": conversation_id})
            assert r.status_code == 200, r.text
            return list(r.json()["items"])

    def conversation_with(self, text: str, channel: str = "email") -> dict[str, Any] | None:
        """The conversation one of whose customer messages holds `text`, as it is once that
        message is stored (read again: the listing searched may be older than the message)."""
        for conversation in self.conversations(channel):
            for message in self.transcript(conversation["id"]):
                if message["author"] == "customer" and text in message["text"]:
                    key = conversation["id"]
                    fresh = [c for c in self.conversations(channel) if c["id"] == key]
                    return fresh[0] if fresh else None
        return None

    def reply_in_console(self, conversation_id: str, text: str) -> None:
        answer = self.agent().post(f"/console/conversations/{conversation_id}/reply", text=text)
        assert answer.status_code == 303, answer.text

    def mails_to(self, address: str) -> list[EmailMessage]:
        return self.relay.messages_to(address)


def start_email_api(store: Store, relay: SmtpRelay, mailbox: Dovecot, rasa: StandInRasa) -> None:
    start_api(store, email_env(relay, mailbox, rasa.url), timeout=60)
    rasa.api_url, rasa.service_key = store.base_url, store.keys["service"]


@contextmanager
def email_stack(backend: str, tmp: Path) -> Iterator[EmailStore]:
    """A seeded store behind an api whose email channel uses a local relay and dovecot, and
    whose assistant is the stand-in."""
    relay = SmtpRelay().start()
    mailbox = Dovecot().start()
    rasa = StandInRasa().start()
    store = new_store(backend, tmp)
    start_email_api(store, relay, mailbox, rasa)
    email_store = EmailStore(store, relay, mailbox, rasa)
    try:
        yield email_store
    finally:
        email_store.console.close()
        stop_api(store)
        rasa.stop()
        mailbox.stop()
        relay.stop()
        drop_store(store)


def delivery_report(
    original_message_id: str, recipient: str, *, action: str = "failed", subject: str = ""
) -> bytes:
    """A bounce as a mail server writes it (RFC 3464): a multipart/report with the reason,
    the delivery status and the headers of the mail that could not be delivered."""
    lines = [
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>",
        f"To: {SUPPORT}",
        "Subject: Undelivered Mail Returned to Sender",
        f"Date: {formatdate()}",
        f"Message-ID: <{uuid.uuid4().hex}@mx.example.com>",
        "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b0undary"',
        "",
        "--b0undary",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        "This is the mail system at host mx.example.com. Your message could not be delivered.",
        "",
        "--b0undary",
        "Content-Type: message/delivery-status",
        "",
        "Reporting-MTA: dns; mx.example.com",
        "",
        f"Final-Recipient: rfc822; {recipient}",
        f"Action: {action}",
        "Status: 5.1.1" if action == "failed" else "Status: 4.4.1",
        f"Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected: "
        "User unknown in virtual mailbox table",
        "",
        "--b0undary",
        "Content-Type: text/rfc822-headers",
        "",
        f"From: Fernhill & Co. <{SUPPORT}>",
        f"To: {recipient}",
        f"Subject: {subject or 'Re: your order'}",
        f"Message-ID: {original_message_id}",
        "",
        "--b0undary--",
        "",
    ]
    return "\r\n".join(lines).encode()


def customer_mail(
    sender: str,
    subject: str,
    text: str,
    *,
    in_reply_to: str | None = None,
    references: str | None = None,
    headers: dict[str, str] | None = None,
    attachment: tuple[str, str, bytes] | None = None,
    message_id: str | None = None,
) -> EmailMessage:
    """A mail as a customer's mail program writes it."""
    mail = EmailMessage()
    mail["From"] = f"Jane Doe <{sender}>"
    mail["To"] = SUPPORT
    mail["Subject"] = subject
    mail["Date"] = formatdate()
    mail["Message-ID"] = message_id or f"<{uuid.uuid4().hex}.{next(_sequence)}@mail.example.com>"
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
    if references:
        mail["References"] = references
    for name, value in (headers or {}).items():
        mail[name] = value
    mail.set_content(text)
    if attachment:
        name, content_type, data = attachment
        maintype, subtype = content_type.split("/")
        mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return mail


def wait_until(what: str, check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.2)


def text_part(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def html_part(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


async def chat_customer_who_left(mail: EmailStore, address: str, summary: str) -> dict[str, Any]:
    """A chat customer says their parcel is late, is handed to a person with their email
    address (the assistant's handoff, as the action server makes it) and closes the tab;
    their conversation."""
    customer = ChatCustomer(mail.store.base_url)
    session_id = await customer.connect()
    await customer.say("my parcel is late")
    assert "echo" in (await customer.next())["text"]
    conversation: dict[str, Any] = wait_until(
        "the chat conversation",
        lambda: [c for c in mail.conversations("socketio") if c["channel_key"] == session_id],
    )[0]
    with mail.api("service") as service:
        r = service.post(
            "/api/v1/tickets",
            json={
                "conversation_id": conversation["id"],
                "reason": "customer_request",
                "summary": summary,
                "customer_email": address,
            },
        )
        assert r.status_code == 201, r.text
    await customer.sio.disconnect()  # the customer closes the tab
    return conversation
