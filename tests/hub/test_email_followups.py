"""The email channel's follow-ups, against a real relay (aiosmtpd) and mailbox (dovecot), on
SQLite and PostgreSQL: resolving an email ticket restarts the assistant without mailing its
greeting; a bounce for one of our replies marks that reply failed; and a chat customer who left
before an api restart still gets a person's reply by email after it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import anyio
import pytest

from tests.conftest import stop_api
from tests.hub.email_support import (
    EmailStore,
    chat_customer_who_left,
    customer_mail,
    delivery_report,
    email_stack,
    start_email_api,
    text_part,
    wait_until,
)
from tests.hub.standin_rasa import GREETING


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def mail(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmailStore]:
    with email_stack(request.param, tmp_path_factory.mktemp(f"mail-{request.param}")) as stack:
        yield stack


def opened_by_mail(mail: EmailStore, sender: str, subject: str, text: str) -> dict:
    mail.mailbox.deliver(customer_mail(sender, subject, text))
    return wait_until(f"a conversation for {subject!r}", lambda: mail.conversation_with(text))


def agent_messages(mail: EmailStore, conversation_id: str) -> list[dict]:
    return [m for m in mail.transcript(conversation_id) if m["author"] == "agent"]


def test_resolving_an_email_ticket_restarts_the_assistant_without_a_greeting_mail(
    mail: EmailStore,
) -> None:
    sender = "noah.king@example.com"
    conversation = opened_by_mail(mail, sender, "Sizes", "Do the jeans run small?")
    mail.reply_in_console(conversation["id"], "They run true to size.")
    wait_until("the reply at the relay", lambda: mail.mails_to(sender))
    [ticket] = mail.tickets_of(conversation["id"])

    answer = mail.agent().post(f"/console/tickets/{ticket['id']}/resolve")
    assert answer.status_code == 303, answer.text
    wait_until(
        "the assistant restarted", lambda: "/restart" in mail.rasa.messages_of(conversation["id"])
    )
    time.sleep(2)  # a greeting would be stored, batched (0.3 s) and relayed by now
    assert "/greet" not in mail.rasa.messages_of(conversation["id"])
    assert [m for m in mail.transcript(conversation["id"]) if m["author"] == "bot"] == []
    bodies = [text_part(m) for m in mail.mails_to(sender)]
    assert len(bodies) == 1 and not any(GREETING in body for body in bodies)
    with mail.api("agent") as api:
        assert api.get(f"/api/v1/conversations/{conversation['id']}").json()["mode"] == "bot"


def test_a_bounce_for_our_reply_marks_it_failed(mail: EmailStore) -> None:
    sender = "old.address@example.org"
    conversation = opened_by_mail(mail, sender, "Refund", "Where is my refund?")
    mail.reply_in_console(conversation["id"], "It was sent on Monday.")
    [ours] = wait_until("our reply at the relay", lambda: mail.mails_to(sender))
    wait_until(
        "the reply sent",
        lambda: agent_messages(mail, conversation["id"])[0]["state"] == "sent",
    )

    # A delay notice is no failure; the later bounce is.
    mail.mailbox.deliver(delivery_report(ours["Message-ID"], sender, action="delayed"))
    wait_until("the notice taken in", lambda: mail.mailbox.unseen_count() == 0)
    time.sleep(1)
    assert agent_messages(mail, conversation["id"])[0]["state"] == "sent"
    mail.mailbox.deliver(delivery_report(ours["Message-ID"], sender, subject=ours["Subject"]))
    failed = wait_until(
        "the reply marked failed",
        lambda: [m for m in agent_messages(mail, conversation["id"]) if m["state"] == "failed"],
    )
    assert "bounced" in failed[0]["delivery_error"] and "550" in failed[0]["delivery_error"]
    page = mail.agent().http.get(f"/console/conversations/{conversation['id']}")
    assert "User unknown" in page.text  # the agent reads why, in the conversation
    # The bounce itself is in no transcript and answered by nobody.
    assert len(mail.transcript(conversation["id"])) == 2
    assert len(mail.mails_to(sender)) == 1


def test_a_bounce_for_a_mail_we_never_sent_changes_nothing(mail: EmailStore) -> None:
    sender = "lena.fox@example.com"
    conversation = opened_by_mail(mail, sender, "Colours", "Is the dress in green?")
    mail.reply_in_console(conversation["id"], "Only rust and navy floral.")
    wait_until("our reply at the relay", lambda: mail.mails_to(sender))
    wait_until(
        "the reply sent",
        lambda: agent_messages(mail, conversation["id"])[0]["state"] == "sent",
    )
    mail.mailbox.deliver(delivery_report("<not.ours@elsewhere.example>", sender))
    wait_until("the bounce taken in", lambda: mail.mailbox.unseen_count() == 0)
    time.sleep(1)
    assert agent_messages(mail, conversation["id"])[0]["state"] == "sent"


@pytest.mark.anyio
async def test_a_customer_who_left_before_a_restart_gets_the_reply_by_email(
    mail: EmailStore,
) -> None:
    address = "mara.lind@example.com"
    conversation = await chat_customer_who_left(mail, address, "Late parcel.")
    page = f"/console/conversations/{conversation['id']}"
    await anyio.to_thread.run_sync(
        lambda: wait_until(
            "the customer declared gone",
            lambda: "Customer left the chat" in mail.agent().http.get(page).text,
        )
    )

    stop_api(mail.store)  # the api restarts: nothing in memory survives
    start_email_api(mail.store, mail.relay, mail.mailbox, mail.rasa)
    mail._agent = None  # the console client of the old port
    assert "Customer left the chat" in mail.agent().http.get(page).text

    mail.reply_in_console(conversation["id"], "Your parcel arrives Friday.")
    [sent] = await anyio.to_thread.run_sync(
        lambda: wait_until("the reply by email", lambda: mail.mails_to(address))
    )
    assert "Your parcel arrives Friday." in text_part(sent)
    await anyio.to_thread.run_sync(
        lambda: wait_until(
            "the reply marked sent",
            lambda: agent_messages(mail, conversation["id"])[0]["state"] == "sent",
        )
    )
