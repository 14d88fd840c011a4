"""The email channel's settings, read once: the SMTP relay (outbound), the IMAP mailbox
(inbound), and whether each half is on. A half is off until its settings are set; the api
says which at start, naming the missing variables and never a value."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parseaddr
from urllib.parse import unquote, urlsplit

from api.settings import Settings

CHANNEL = "email"


class EmailSettingError(ValueError):
    """A setting is present but unusable (wrong scheme, no host): said at start."""


@dataclass(frozen=True)
class SmtpRelay:
    host: str
    port: int
    ssl: bool  # smtps://: TLS from the first byte
    starttls: bool  # smtp:// upgraded with STARTTLS
    user: str
    password: str


@dataclass(frozen=True)
class ImapMailbox:
    host: str
    port: int
    ssl: bool
    mailbox: str
    user: str
    password: str


def smtp_relay(settings: Settings) -> SmtpRelay:
    parts = urlsplit(settings.smtp_url.strip())
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise EmailSettingError("OPSDESK_SMTP_URL must look like smtp://host:587 or smtps://host")
    ssl = parts.scheme == "smtps"
    return SmtpRelay(
        host=parts.hostname,
        port=parts.port or (465 if ssl else 587),
        ssl=ssl,
        starttls=not ssl and settings.smtp_starttls,
        user=settings.smtp_user or unquote(parts.username or ""),
        password=settings.smtp_password or unquote(parts.password or ""),
    )


def imap_mailbox(settings: Settings) -> ImapMailbox:
    parts = urlsplit(settings.imap_url.strip())
    if parts.scheme not in ("imap", "imaps") or not parts.hostname:
        raise EmailSettingError("OPSDESK_IMAP_URL must look like imaps://host/INBOX")
    ssl = parts.scheme == "imaps"
    return ImapMailbox(
        host=parts.hostname,
        port=parts.port or (993 if ssl else 143),
        ssl=ssl,
        mailbox=unquote(parts.path.strip("/")) or "INBOX",
        user=settings.imap_user or unquote(parts.username or ""),
        password=settings.imap_password or unquote(parts.password or ""),
    )


def support_address(settings: Settings) -> str:
    """The bare address of OPSDESK_SUPPORT_EMAIL (which may carry a display name)."""
    return parseaddr(settings.support_email)[1].lower()


def _valid(read: Callable[[Settings], object], settings: Settings) -> bool:
    try:
        read(settings)
    except EmailSettingError:
        return False
    return True


def missing_outbound(settings: Settings) -> list[str]:
    missing = []
    if not settings.smtp_url.strip():
        missing.append("OPSDESK_SMTP_URL")
    elif not _valid(smtp_relay, settings):
        missing.append("a valid OPSDESK_SMTP_URL (smtp://host:port or smtps://host:port)")
    if "@" not in support_address(settings):
        missing.append("OPSDESK_SUPPORT_EMAIL")
    return missing


def missing_inbound(settings: Settings) -> list[str]:
    missing = [] if settings.imap_url.strip() else ["OPSDESK_IMAP_URL"]
    if settings.imap_url.strip() and not _valid(imap_mailbox, settings):
        missing.append("a valid OPSDESK_IMAP_URL (imaps://host/INBOX or imap://host/INBOX)")
    elif settings.imap_url.strip():
        mailbox = imap_mailbox(settings)
        if not mailbox.user:
            missing.append("OPSDESK_IMAP_USER")
        if not mailbox.password:
            missing.append("OPSDESK_IMAP_PASSWORD")
    # Answers to inbound mail go out through the relay: inbound alone would answer nobody.
    return missing + [m for m in missing_outbound(settings) if m not in missing]


def status_lines(settings: Settings) -> list[str]:
    lines = []
    for half, missing in (
        ("outbound (SMTP)", missing_outbound(settings)),
        ("inbound (IMAP)", missing_inbound(settings)),
    ):
        if missing:
            lines.append(f"channel email {half}: off, set {', '.join(missing)} to turn it on")
        else:
            lines.append(f"channel email {half}: on")
    return lines
