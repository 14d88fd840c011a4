"""Reading a mail from the support mailbox: who wrote it, what it answers, what they wrote
(without the quoted history), what was attached (references only), and whether a program
wrote it (an auto-reply, a bounce, a list), which is recorded and never answered."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage, Message
from email.parser import HeaderParser
from email.policy import default
from email.utils import parseaddr
from html.parser import HTMLParser
from typing import Any

MAX_TEXT = 4000
_MSGID_RE = re.compile(r"<[^<>\s]+>")
_QUOTE_HEADER = re.compile(
    r"^(On .{4,200} wrote:|-{2,}\s*Original Message\s*-{2,}|From: .+|_{10,})\s*$", re.I
)
_BOUNCE_SENDERS = ("mailer-daemon", "postmaster")


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str
    size: int  # bytes, decoded

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "content_type": self.content_type, "size": self.size}


@dataclass(frozen=True)
class ParsedMail:
    message_id: str  # "<...>"; made from the mail's bytes when it has none
    from_address: str  # lower case
    from_name: str
    subject: str
    named_ids: list[str]  # References then In-Reply-To, oldest first
    text: str  # what the customer wrote, quoted history cut off
    attachments: list[Attachment] = field(default_factory=list)
    automatic: str | None = None  # auto_reply | bounce, when a program wrote it
    automatic_reason: str = ""
    # A bounce that says delivery failed for good: the Message-IDs of the mail that bounced
    # (its embedded headers, and what the bounce names) and the reporting server's words.
    bounced_ids: list[str] = field(default_factory=list)
    bounce_reason: str = ""


def parse(raw: bytes, *, max_attachments: int, oversize: bool = False) -> ParsedMail:
    """`raw` is the whole mail, or only its headers when `oversize`."""
    mail = message_from_bytes(raw, policy=default)
    assert isinstance(mail, EmailMessage)
    name, address = parseaddr(str(mail.get("From", "")))
    ids = _MSGID_RE.findall(str(mail.get("Message-ID", "")))
    message_id = ids[0] if ids else f"<sha256.{hashlib.sha256(raw).hexdigest()[:40]}@opsdesk>"
    named = _MSGID_RE.findall(str(mail.get("References", ""))) + _MSGID_RE.findall(
        str(mail.get("In-Reply-To", ""))
    )
    automatic, reason = _automatic(mail, address)
    text, attachments = ("", []) if oversize else _content(mail, max_attachments)
    bounced_ids, bounce_reason = (
        _bounce_of(mail, named) if automatic == "bounce" and not oversize else ([], "")
    )
    return ParsedMail(
        message_id=message_id[:250],
        from_address=address.strip().lower()[:254],
        from_name=name.strip()[:120],
        subject=" ".join(str(mail.get("Subject", "")).split())[:200],
        named_ids=[i[:250] for i in named],
        text=text,
        attachments=attachments,
        automatic=automatic,
        automatic_reason=reason,
        bounced_ids=[i[:250] for i in bounced_ids],
        bounce_reason=bounce_reason,
    )


def _bounce_of(mail: EmailMessage, named: list[str]) -> tuple[list[str], str]:
    """What a bounce says (RFC 3464): the Message-ID of the mail that bounced, from its
    embedded copy (message/rfc822) or headers (text/rfc822-headers), and why. Only a final
    failure counts: a DSN whose recipients are all `delayed` (or `delivered`) is no failure;
    a bounce without a delivery-status part (older servers) is taken as one when it carries
    the original."""
    embedded: list[str] = []
    actions: list[str] = []
    diagnostics: list[str] = []
    for part in mail.walk():
        content_type = part.get_content_type()
        if content_type == "message/delivery-status":
            for block in part.get_payload():
                if not isinstance(block, Message):
                    continue
                if block.get("Action"):
                    actions.append(str(block["Action"]).strip().lower())
                for name in ("Diagnostic-Code", "Status"):
                    if block.get(name):
                        diagnostics.append(" ".join(str(block[name]).split()))
        elif content_type == "message/rfc822":
            inner = part.get_payload()
            original = inner[0] if isinstance(inner, list) and inner else None
            if isinstance(original, Message):
                embedded += _MSGID_RE.findall(str(original.get("Message-ID", "")))
        elif content_type == "text/rfc822-headers":
            headers = HeaderParser(policy=default).parsestr(_decoded_text(part))
            embedded += _MSGID_RE.findall(str(headers.get("Message-ID", "")))
    failed = "failed" in actions if actions else bool(embedded)
    if not failed:
        return [], ""
    reason = diagnostics[0] if diagnostics else "the receiving server returned the mail"
    return embedded + named, reason[:250]


def _automatic(mail: Message, address: str) -> tuple[str | None, str]:
    """RFC 3834 Auto-Submitted, the common vendor headers, Precedence, DSNs (RFC 3464) and
    the daemons' own addresses."""
    content_type = mail.get_content_type()
    report_type = str(mail.get_param("report-type", "") or "").lower()
    local = address.partition("@")[0].lower()
    if content_type == "multipart/report" and report_type == "delivery-status":
        return "bounce", "delivery status notification"
    if local in _BOUNCE_SENDERS or (not address and "Return-Path" in mail):
        return "bounce", f"sent by {local or 'the null sender'}"
    auto_submitted = str(mail.get("Auto-Submitted", "")).strip().lower()
    if auto_submitted and auto_submitted != "no":
        return "auto_reply", f"Auto-Submitted: {auto_submitted[:40]}"
    for header in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply"):
        if header in mail:
            return "auto_reply", header
    precedence = str(mail.get("Precedence", "")).strip().lower()
    if precedence in ("bulk", "auto_reply", "junk", "list"):
        return "auto_reply", f"Precedence: {precedence}"
    if "List-Id" in mail:
        return "auto_reply", "mailing list"
    return None, ""


def _content(mail: EmailMessage, max_attachments: int) -> tuple[str, list[Attachment]]:
    attachments: list[Attachment] = []
    plain: str | None = None
    html: str | None = None
    for part in mail.walk():
        if part.is_multipart():
            continue
        filename = part.get_filename()
        disposition = part.get_content_disposition()
        content_type = part.get_content_type()
        is_body_text = content_type in ("text/plain", "text/html") and disposition != "attachment"
        if is_body_text and not filename:
            body = _decoded_text(part)
            if content_type == "text/plain" and plain is None:
                plain = body
            elif content_type == "text/html" and html is None:
                html = body
            continue
        if len(attachments) < max_attachments:
            payload = part.get_payload(decode=True)
            size = len(payload) if isinstance(payload, bytes) else 0
            attachments.append(
                Attachment(str(filename or "unnamed")[:200], content_type[:100], size)
            )
    text = plain if plain is not None else _html_to_text(html or "")
    return without_quoted_history(text)[:MAX_TEXT], attachments


def _decoded_text(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
    except (LookupError, UnicodeError, AssertionError):
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return str(content).replace("\r\n", "\n")


def without_quoted_history(text: str) -> str:
    """Cut at the first line that starts the quoted earlier mail ("On … wrote:", "-----
    Original Message-----") and drop ">" lines: the earlier mails are already in the
    transcript."""
    kept: list[str] = []
    for line in text.splitlines():
        if _QUOTE_HEADER.match(line.strip()) and kept:
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    return "\n".join(kept).strip()


class _TextOfHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head"):
            self._skip += 1
        elif tag in ("br", "p", "div", "li", "tr"):
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.chunks.append(data)


def _html_to_text(html: str) -> str:
    parser = _TextOfHtml()
    parser.feed(html)
    text = "".join(parser.chunks)
    return re.sub(r"\n\s*\n+", "\n\n", text).strip()
