"""Writing a mail to the customer: the subject with the conversation's reference, the
threading headers, and a plain-text and an HTML part from the Jinja2 templates beside this
file (the HTML one autoescaped: what a customer or an agent typed is text, never markup)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr, formatdate, parseaddr
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    keep_trailing_newline=True,
)
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud on the phone
REFERENCE_RE = re.compile(r"\[#(OD-[A-Z2-9]{8})\]")
MAX_REFERENCES = 20  # the newest Message-IDs named in References: enough for any mail program
MAX_SUBJECT = 160
_REPLY_PREFIX = re.compile(r"^\s*((re|aw|sv|fwd?|wg)\s*(\[\d+\])?\s*:\s*)+", re.I)


def new_reference() -> str:
    """A conversation's reference: 40 random bits, so a subject alone can't be guessed onto
    someone else's conversation (and a subject match also needs the same sender)."""
    return "OD-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))


def reference_in(subject: str) -> str | None:
    found = REFERENCE_RE.search(subject or "")
    return found.group(1) if found else None


def bare_subject(subject: str) -> str:
    """The subject without Re:/Fwd: prefixes and without our reference tag."""
    subject = REFERENCE_RE.sub("", subject or "")
    return _REPLY_PREFIX.sub("", subject).strip()[:MAX_SUBJECT]


def new_message_id(from_address: str) -> str:
    domain = parseaddr(from_address)[1].rpartition("@")[2] or "opsdesk.invalid"
    return f"<od.{secrets.token_hex(12)}@{domain}>"


@dataclass(frozen=True)
class Part:
    """One message of the transcript in the mail."""

    text: str
    author: str  # bot | agent | system
    agent_name: str | None = None
    buttons: list[str] = field(default_factory=list)  # titles: the customer can write them

    @property
    def signature(self) -> str:
        if self.author == "agent" and self.agent_name:
            return f"{self.agent_name}, customer support"
        if self.author == "agent":
            return "Customer support"
        return "Automated assistant"

    @property
    def paragraphs(self) -> list[list[str]]:
        blocks = re.split(r"\n\s*\n", self.text.strip())
        return [block.splitlines() for block in blocks if block.strip()]


@dataclass(frozen=True)
class Threading:
    to_address: str
    to_name: str | None
    subject: str  # the conversation's subject, without prefixes or reference
    reference: str
    in_reply_to: str | None
    references: list[str]


def compose(
    *, from_header: str, threading: Threading, parts: list[Part], message_id: str
) -> EmailMessage:
    """The mail carrying `parts` (oldest first) to the customer."""
    topic = threading.subject or "Your conversation with our support team"
    subject = f"Re: {topic} [#{threading.reference}]"
    mail = EmailMessage(policy=SMTP)
    mail["From"] = from_header
    mail["To"] = formataddr((threading.to_name or "", threading.to_address))
    mail["Subject"] = subject
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    mail["Message-ID"] = message_id
    if threading.in_reply_to:
        mail["In-Reply-To"] = threading.in_reply_to
    if threading.references:
        mail["References"] = " ".join(threading.references[-MAX_REFERENCES:])
    if all(part.author != "agent" for part in parts):
        # RFC 3834: written by the assistant, not a person, so autoresponders stay quiet.
        mail["Auto-Submitted"] = "auto-replied"
    values = {
        "parts": parts,
        "reference": threading.reference,
        "subject": subject,
    }
    mail.set_content(TEMPLATES.get_template("reply.txt").render(values))
    mail.add_alternative(TEMPLATES.get_template("reply.html").render(values), subtype="html")
    return mail
