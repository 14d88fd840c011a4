"""Reading mails and writing them, without servers: what a program wrote is told from what a
person wrote, quoted history is cut, attachments are listed, subjects keep one reference,
the HTML part escapes, and the channel's settings say what is missing."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import default

import pytest

from api.hub.channels.email import config
from api.hub.channels.email.compose import (
    Part,
    Threading,
    bare_subject,
    compose,
    new_reference,
    reference_in,
)
from api.hub.channels.email.parsing import parse, without_quoted_history
from api.settings import Settings


def raw_mail(headers: dict[str, str], text: str = "Hello", content_type: str = "") -> bytes:
    mail = EmailMessage(policy=default)
    mail["From"] = headers.pop("From", "Jane <jane@example.com>")
    mail["Subject"] = headers.pop("Subject", "Question")
    mail["Message-ID"] = headers.pop("Message-ID", "<q1@example.com>")
    for name, value in headers.items():
        mail[name] = value
    mail.set_content(text)
    raw = mail.as_bytes()
    if content_type:
        raw = raw.replace(b"Content-Type: text/plain", f"Content-Type: {content_type}".encode(), 1)
    return raw


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ({"Auto-Submitted": "auto-replied"}, "auto_reply"),
        ({"Auto-Submitted": "auto-generated"}, "auto_reply"),
        ({"X-Autoreply": "yes"}, "auto_reply"),
        ({"X-Autorespond": "Out of office"}, "auto_reply"),
        ({"Precedence": "bulk"}, "auto_reply"),
        ({"Precedence": "auto_reply"}, "auto_reply"),
        ({"List-Id": "<deals.shop.example>"}, "auto_reply"),
        ({"From": "MAILER-DAEMON@mx.example.com"}, "bounce"),
        ({"From": "postmaster@example.com"}, "bounce"),
    ],
)
def test_a_programs_mail_is_recognised(headers: dict[str, str], kind: str) -> None:
    assert parse(raw_mail(dict(headers)), max_attachments=5).automatic == kind


def test_a_delivery_status_notification_is_a_bounce() -> None:
    raw = raw_mail({}, content_type='multipart/report; report-type="delivery-status"')
    assert parse(raw, max_attachments=5).automatic == "bounce"


@pytest.mark.parametrize("headers", [{}, {"Auto-Submitted": "no"}, {"Precedence": "first-class"}])
def test_a_persons_mail_is_not_automatic(headers: dict[str, str]) -> None:
    parsed = parse(raw_mail(dict(headers)), max_attachments=5)
    assert parsed.automatic is None
    assert parsed.from_address == "jane@example.com" and parsed.from_name == "Jane"


def test_threading_headers_are_read_oldest_first() -> None:
    parsed = parse(
        raw_mail({"References": "<a@x> <b@x>", "In-Reply-To": "<b@x>"}), max_attachments=5
    )
    assert parsed.named_ids == ["<a@x>", "<b@x>", "<b@x>"]


def test_a_mail_without_message_id_gets_one_from_its_bytes() -> None:
    raw = raw_mail({"Message-ID": ""})
    first, second = parse(raw, max_attachments=5), parse(raw, max_attachments=5)
    assert first.message_id.startswith("<sha256.") and first.message_id == second.message_id


def test_quoted_history_is_cut() -> None:
    text = "Thanks, that works.\n\nOn Tue, 3 Dec 2026, Fernhill wrote:\n> Yes we can\n> Alex"
    assert without_quoted_history(text) == "Thanks, that works."
    assert without_quoted_history("> old\nnew line") == "new line"
    outlook = "Fine by me.\n-----Original Message-----\nFrom: help@fernhill.example"
    assert without_quoted_history(outlook) == "Fine by me."


def test_attachments_are_listed_by_name_type_and_size_up_to_the_limit() -> None:
    mail = EmailMessage(policy=default)
    mail["From"] = "jane@example.com"
    mail["Message-ID"] = "<att@example.com>"
    mail.set_content("Photos attached")
    for n in range(4):
        mail.add_attachment(b"x" * (100 + n), maintype="image", subtype="png", filename=f"{n}.png")
    parsed = parse(mail.as_bytes(), max_attachments=3)
    assert parsed.text == "Photos attached"
    assert [a.as_dict() for a in parsed.attachments] == [
        {"name": f"{n}.png", "content_type": "image/png", "size": 100 + n} for n in range(3)
    ]


def test_an_html_only_mail_is_read_as_text() -> None:
    mail = EmailMessage(policy=default)
    mail["From"] = "jane@example.com"
    mail.set_content(
        "<html><head><style>p{}</style></head><body><p>Where is</p><p>order 10001?</p></body>",
        subtype="html",
    )
    assert parse(mail.as_bytes(), max_attachments=3).text == "Where is\norder 10001?"


def test_an_oversized_mail_keeps_only_its_headers() -> None:
    parsed = parse(raw_mail({}, text="not read"), max_attachments=3, oversize=True)
    assert parsed.text == "" and parsed.subject == "Question"


def test_subjects_keep_one_reference_and_no_reply_prefixes() -> None:
    reference = new_reference()
    assert reference_in(f"Re: RE: Fwd: Order [#{reference}]") == reference
    assert bare_subject(f"Re: RE: Fwd: Order [#{reference}]") == "Order"
    assert reference_in("Order #10001") is None
    assert new_reference() != reference


def test_the_html_part_escapes_what_people_typed() -> None:
    mail = compose(
        from_header="Fernhill & Co. <help@fernhill.example>",
        threading=Threading(
            to_address="jane@example.com",
            to_name="Jane",
            subject="Order <script>",
            reference="OD-ABCDEFGH",
            in_reply_to="<q1@example.com>",
            references=["<q0@example.com>", "<q1@example.com>"],
        ),
        parts=[Part(text="<img src=x onerror=alert(1)> & done", author="agent", agent_name="Alex")],
        message_id="<od.1@fernhill.example>",
    )
    html = mail.get_body(preferencelist=("html",))
    assert html is not None
    content = html.get_content()  # type: ignore[attr-defined]
    assert "<img" not in content and "&lt;img src=x" in content and "&amp; done" in content
    assert "&lt;script&gt;" in content
    assert mail["Subject"] == "Re: Order <script> [#OD-ABCDEFGH]"
    assert mail["References"] == "<q0@example.com> <q1@example.com>"
    assert "Auto-Submitted" not in mail


def test_the_assistants_mail_says_it_was_automatic() -> None:
    mail = compose(
        from_header="help@fernhill.example",
        threading=Threading("jane@example.com", None, "", "OD-ABCDEFGH", None, []),
        parts=[Part(text="Your order shipped.", author="bot")],
        message_id="<od.2@fernhill.example>",
    )
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail["Subject"] == "Re: Your conversation with our support team [#OD-ABCDEFGH]"
    assert "In-Reply-To" not in mail


def test_the_channel_is_off_until_its_settings_are_set_and_says_which() -> None:
    lines = config.status_lines(Settings(_env_file=None))  # type: ignore[call-arg]
    assert lines == [
        "channel email outbound (SMTP): off, set OPSDESK_SMTP_URL, OPSDESK_SUPPORT_EMAIL "
        "to turn it on",
        "channel email inbound (IMAP): off, set OPSDESK_IMAP_URL, OPSDESK_SMTP_URL, "
        "OPSDESK_SUPPORT_EMAIL to turn it on",
    ]
    half = Settings(  # type: ignore[call-arg]
        _env_file=None,
        smtp_url="smtp://relay.example:2525",
        support_email="help@fernhill.example",
        imap_url="imaps://mail.example/Support",
        imap_user="support",
    )
    assert config.status_lines(half) == [
        "channel email outbound (SMTP): on",
        "channel email inbound (IMAP): off, set OPSDESK_IMAP_PASSWORD to turn it on",
    ]
    relay = config.smtp_relay(half)
    assert (relay.host, relay.port, relay.ssl, relay.starttls) == (
        "relay.example",
        2525,
        False,
        True,
    )
    box = config.imap_mailbox(half)
    assert (box.host, box.port, box.ssl, box.mailbox) == ("mail.example", 993, True, "Support")


def test_a_malformed_relay_url_is_refused_with_the_variable_named() -> None:
    settings = Settings(_env_file=None, smtp_url="http://relay")  # type: ignore[call-arg]
    with pytest.raises(config.EmailSettingError, match="OPSDESK_SMTP_URL"):
        config.smtp_relay(settings)


def test_a_malformed_url_keeps_its_half_off_and_says_so() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        smtp_url="http://relay",
        support_email="help@fernhill.example",
        imap_url="pop3://mail.example",
    )
    outbound, inbound = config.status_lines(settings)
    assert outbound == (
        "channel email outbound (SMTP): off, set a valid OPSDESK_SMTP_URL "
        "(smtp://host:port or smtps://host:port) to turn it on"
    )
    assert "a valid OPSDESK_IMAP_URL" in inbound and "a valid OPSDESK_SMTP_URL" in inbound
