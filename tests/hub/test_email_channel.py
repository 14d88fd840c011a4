"""The email channel against real servers: a customer's mail in dovecot's INBOX becomes a
conversation and a ticket, the agent's reply from the console reaches the aiosmtpd relay
threaded, the customer's answer lands in the same conversation, a program's mail is never
answered, a mail is taken in once, and a reply waits in the outbox while the relay is down.
On SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator

import anyio
import pytest

from tests.hub.email_support import (
    SUPPORT,
    EmailStore,
    chat_customer_who_left,
    customer_mail,
    email_stack,
    html_part,
    text_part,
    wait_until,
)

JANE = "jane.doe@example.com"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def mail(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmailStore]:
    with email_stack(request.param, tmp_path_factory.mktemp(f"email-{request.param}")) as stack:
        yield stack


def first_mail_opens(mail: EmailStore, sender: str, subject: str, text: str) -> dict:
    mail.mailbox.deliver(customer_mail(sender, subject, text))
    return wait_until(f"a conversation for {subject!r}", lambda: mail.conversation_with(text))


def test_the_api_says_the_email_channel_is_on(mail: EmailStore) -> None:
    assert mail.store.log_path is not None
    log = mail.store.log_path.read_text()
    assert "channel email outbound (SMTP): on" in log
    assert "channel email inbound (IMAP): on" in log
    assert "imap-password-for-tests" not in log


def test_a_customers_email_opens_a_ticket_with_the_whole_mail(mail: EmailStore) -> None:
    text = "Hello, the zip on my jacket broke after two days. Photo attached. What can you do?"
    mail.mailbox.deliver(
        customer_mail(
            JANE, "Broken zip", text, attachment=("zip.jpg", "image/jpeg", b"\xff\xd8" * 600)
        )
    )
    conversation = wait_until("the email conversation", lambda: mail.conversation_with(text))
    assert conversation["channel"] == "email"
    assert conversation["mode"] == "human"
    tickets = wait_until("its ticket", lambda: mail.tickets_of(conversation["id"]))
    assert len(tickets) == 1
    ticket = tickets[0]
    assert ticket["channel"] == "email" and ticket["reason"] == "email"
    assert ticket["customer_email"] == JANE
    assert text in ticket["summary"] and "Broken zip" in ticket["summary"]
    assert "zip.jpg (image/jpeg, 1200 bytes)" in ticket["summary"]
    [message] = wait_until(
        "the mail waiting for a person",
        lambda: [m for m in mail.transcript(conversation["id"]) if m["state"] == "queued"],
    )
    assert message["author"] == "customer" and len(mail.transcript(conversation["id"])) == 1
    assert "[attachment: zip.jpg, image/jpeg, 1200 bytes]" in message["text"]
    wait_until("the mail flagged seen", lambda: mail.mailbox.unseen_count() == 0)
    page = mail.agent().http.get(f"/console/conversations/{conversation['id']}")
    assert page.status_code == 200 and text in page.text  # the agent reads it in the console


def test_the_agents_reply_from_the_console_arrives_threaded_and_escaped(mail: EmailStore) -> None:
    sender = "sam.lee@example.com"
    text = "Can I change the delivery address of my order?"
    original = customer_mail(sender, "Delivery address", text)
    mail.mailbox.deliver(original)
    conversation = wait_until("the conversation", lambda: mail.conversation_with(text))

    reply = "Hi Sam, <b>yes</b> & we've updated it.\n\nAnything else?"
    mail.reply_in_console(conversation["id"], reply)

    [sent] = wait_until("the reply at the relay", lambda: mail.mails_to(sender))
    assert sent["From"].addresses[0].addr_spec == SUPPORT
    assert sent["To"].addresses[0].addr_spec == sender
    assert sent["Subject"].startswith("Re: Delivery address [#OD-")
    assert sent["In-Reply-To"] == original["Message-ID"]
    assert original["Message-ID"] in sent["References"]
    assert sent["Message-ID"].startswith("<od.") and sent["Message-ID"].endswith(
        "@fernhill.example>"
    )
    assert "Auto-Submitted" not in sent  # a person wrote it
    assert sent.get_content_type() == "multipart/alternative"
    plain, html = text_part(sent), html_part(sent)
    assert "Hi Sam, <b>yes</b> & we've updated it." in plain
    assert "-- Alex, customer support" in plain
    assert "&lt;b&gt;yes&lt;/b&gt; &amp; we&#39;ve updated it." in html
    assert "<b>yes</b>" not in html
    messages = mail.transcript(conversation["id"])
    wait_until(
        "the reply marked sent",
        lambda: (
            [m for m in mail.transcript(conversation["id"]) if m["author"] == "agent"][0]["state"]
            == "sent"
        ),
    )
    assert [m["author"] for m in messages] == ["customer", "agent"]


def test_the_customers_answer_lands_in_the_same_conversation(mail: EmailStore) -> None:
    sender = "omar.haddad@example.com"
    text = "Do you ship to Canada?"
    conversation = first_mail_opens(mail, sender, "Shipping", text)
    mail.reply_in_console(conversation["id"], "Yes, we ship to Canada in 5 to 8 days.")
    [ours] = wait_until("our reply", lambda: mail.mails_to(sender))

    # Threading headers, as every mail program sends them.
    mail.mailbox.deliver(
        customer_mail(
            sender,
            str(ours["Subject"]).replace("Re: ", "Re: Re: ", 1),
            "Great, and how much is it?\n\nOn Monday, Fernhill wrote:\n> Yes, we ship to Canada",
            in_reply_to=ours["Message-ID"],
            references=f"{ours['References']} {ours['Message-ID']}",
        )
    )
    answer = wait_until(
        "the answer in the conversation",
        lambda: [
            m
            for m in mail.transcript(conversation["id"])
            if "how much is it" in m["text"] and m["state"] == "queued"  # waiting for the person
        ],
    )
    assert answer[0]["author"] == "customer"
    assert "we ship to Canada" not in answer[0]["text"]  # the quoted history is cut off

    # No threading headers at all: the reference in the subject, from the same address.
    mail.mailbox.deliver(customer_mail(sender, str(ours["Subject"]), "Also: is there duty?"))
    wait_until(
        "the subject-only answer in the conversation",
        lambda: any("is there duty" in m["text"] for m in mail.transcript(conversation["id"])),
    )
    # The same subject from someone else starts their own conversation.
    mail.mailbox.deliver(customer_mail("mallory@example.net", str(ours["Subject"]), "Let me in"))
    other = wait_until("a new conversation", lambda: mail.conversation_with("Let me in"))
    assert other["id"] != conversation["id"]
    assert not any("Let me in" in m["text"] for m in mail.transcript(conversation["id"]))

    # The agent's next reply answers the customer's latest mail.
    mail.reply_in_console(conversation["id"], "No duty under CAD 150.")
    second = wait_until("the second reply", lambda: mail.mails_to(sender)[1:])[0]
    assert second["Subject"] == ours["Subject"]
    assert ours["Message-ID"] in second["References"]
    assert second["In-Reply-To"] != ours["In-Reply-To"]


def test_auto_replies_and_bounces_are_recorded_and_never_answered(mail: EmailStore) -> None:
    sender = "priya.patel@example.com"
    conversation = first_mail_opens(mail, sender, "Backorder", "When will my sweater ship?")
    mail.reply_in_console(conversation["id"], "It ships on the 12th.")
    [ours] = wait_until("our reply", lambda: mail.mails_to(sender))
    before = len(mail.transcript(conversation["id"]))
    conversations_before = len(mail.conversations())
    relayed_before = len(mail.relay.received)

    programs = [
        customer_mail(
            sender,
            f"Out of office: {ours['Subject']}",
            "I am away until Monday.",
            in_reply_to=ours["Message-ID"],
            headers={"Auto-Submitted": "auto-replied"},
        ),
        customer_mail(sender, "Automatic reply", "Away", headers={"X-Autoreply": "yes"}),
        customer_mail(sender, "Newsletter", "Deals!", headers={"Precedence": "bulk"}),
        customer_mail(
            "MAILER-DAEMON@mx.example.com",
            "Undelivered Mail Returned to Sender",
            "This is the mail system: your message could not be delivered.",
        ),
    ]
    for program_mail in programs:
        mail.mailbox.deliver(program_mail)
    wait_until("the mails taken in", lambda: mail.mailbox.unseen_count() == 0)
    # A customer's mail after them shows the poll went past them.
    mail.mailbox.deliver(
        customer_mail(sender, "Re: Backorder", "Thanks!", in_reply_to=ours["Message-ID"])
    )
    wait_until(
        "the customer's thanks",
        lambda: any("Thanks!" in m["text"] for m in mail.transcript(conversation["id"])),
    )
    assert len(mail.transcript(conversation["id"])) == before + 1
    assert len(mail.conversations()) == conversations_before
    assert len(mail.relay.received) == relayed_before


def test_a_mail_found_twice_in_the_mailbox_is_taken_in_once(mail: EmailStore) -> None:
    text = "Is the merino sweater itchy?"
    twice = customer_mail("mia.chen@example.com", "Merino", text)
    mail.mailbox.deliver(twice)
    mail.mailbox.deliver(twice)  # the same Message-ID under a second UID
    conversation = wait_until("the conversation", lambda: mail.conversation_with(text))
    wait_until("both taken in", lambda: mail.mailbox.unseen_count() == 0)
    assert len(mail.transcript(conversation["id"])) == 1
    assert len(mail.tickets_of(conversation["id"])) == 1
    assert sum(1 for c in mail.conversations() if c["id"] == conversation["id"]) == 1


def test_a_mail_above_the_size_limit_is_not_read_but_queued(mail: EmailStore) -> None:
    subject = "Huge video of the damage"
    mail.mailbox.deliver(
        customer_mail(
            "ella.rossi@example.com",
            subject,
            "See the video.",
            attachment=("damage.mp4", "video/mp4", b"\x00" * 80_000),
        )
    )

    def ticket_for_big_mail() -> list[dict]:
        for conversation in mail.conversations():
            for ticket in mail.tickets_of(conversation["id"]):
                if subject in ticket["summary"]:
                    return [ticket]
        return []

    [ticket] = wait_until("the ticket of the big mail", ticket_for_big_mail)
    assert "larger than 0.06 MB and was not read" in ticket["summary"]


def test_nothing_is_lost_while_the_relay_refuses_or_is_away(mail: EmailStore) -> None:
    sender = "ava.nguyen@example.com"
    conversation = first_mail_opens(mail, sender, "Gift wrap", "Can you gift wrap my order?")

    mail.relay.refusing = True  # up, answering 451
    refused_before = mail.relay.refused
    mail.reply_in_console(conversation["id"], "Yes, we can gift wrap it.")
    wait_until("two refused attempts", lambda: mail.relay.refused >= refused_before + 2)
    agent = [m for m in mail.transcript(conversation["id"]) if m["author"] == "agent"]
    assert agent[0]["state"] == "pending"

    mail.relay.stop()  # away altogether
    mail.reply_in_console(conversation["id"], "It will have a handwritten card too.")
    time.sleep(2)  # attempts fail on a refused connection meanwhile
    assert mail.mails_to(sender) == []
    mail.relay.refusing = False
    mail.relay.start()

    wait_until(
        "both replies sent",
        lambda: all(
            m["state"] == "sent"
            for m in mail.transcript(conversation["id"])
            if m["author"] == "agent"
        ),
        timeout=30,
    )
    time.sleep(2)  # any duplicate would have gone out by now
    bodies = [text_part(m) for m in mail.mails_to(sender)]
    assert sum(b.count("Yes, we can gift wrap it.") for b in bodies) == 1
    assert sum(b.count("handwritten card") for b in bodies) == 1


@pytest.mark.anyio
async def test_a_reply_to_a_chat_customer_who_left_goes_by_email_and_their_answer_comes_back(
    mail: EmailStore,
) -> None:
    address = "sam.lee@example.com"
    conversation = await chat_customer_who_left(
        mail, address, "Late parcel; the customer verified order 10002."
    )
    already = len(mail.mails_to(address))

    mail.reply_in_console(conversation["id"], "Your parcel is with UPS and arrives Friday.")
    # Within the 5 s grace the customer might still come back: the reply waits for them, then
    # goes by email once they have left.
    fresh = await anyio.to_thread.run_sync(
        lambda: wait_until("the reply by email", lambda: mail.mails_to(address)[already:])
    )
    [sent] = fresh
    assert "Your parcel is with UPS and arrives Friday." in text_part(sent)
    assert sent["Subject"].startswith("Re: Your conversation with our support team [#OD-")
    await anyio.to_thread.run_sync(
        lambda: wait_until(
            "the reply marked sent",
            lambda: [
                m
                for m in mail.transcript(conversation["id"])
                if m["author"] == "agent" and m["state"] == "sent"
            ],
        )
    )

    mail.mailbox.deliver(
        customer_mail(
            address, f"Re: {sent['Subject']}", "Thank you!", in_reply_to=sent["Message-ID"]
        )
    )
    await anyio.to_thread.run_sync(
        lambda: wait_until(
            "the answer in the chat's transcript",
            lambda: any(
                m["text"].startswith("Thank you!") for m in mail.transcript(conversation["id"])
            ),
        )
    )
    assert mail.conversation_with("Thank you!") is None  # no new email conversation


def test_a_reply_the_relay_refuses_for_good_is_marked_failed_and_not_retried(
    mail: EmailStore,
) -> None:
    sender = "gone.away@example.org"
    mail.relay.unknown_recipients.add(sender)
    conversation = first_mail_opens(mail, sender, "Old address", "Please reply to me")
    mail.reply_in_console(conversation["id"], "Here is our answer.")

    def agent_message() -> dict | None:
        found = [m for m in mail.transcript(conversation["id"]) if m["author"] == "agent"]
        return found[0] if found and found[0]["state"] == "failed" else None

    failed = wait_until("the reply marked failed", agent_message)
    assert "recipient refused" in failed["delivery_error"] and "550" in failed["delivery_error"]
    assert mail.mails_to(sender) == []
