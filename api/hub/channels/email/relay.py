"""Handing one mail to the SMTP relay (standard library smtplib, run in a worker thread), and
telling a failure worth retrying (the relay is down, busy, or says 4xx) from a final one (5xx
for the sender, the recipient or the message)."""

from __future__ import annotations

import smtplib
import ssl

from api.hub.channels.email.config import SmtpRelay

SMTP_TIMEOUT_SECONDS = 30.0


class RelayRefused(Exception):
    """The relay did not take the mail; `final` when trying again cannot help."""

    def __init__(self, reason: str, final: bool) -> None:
        super().__init__(reason)
        self.final = final


def send(relay: SmtpRelay, envelope_from: str, to_address: str, raw: bytes) -> None:
    """Deliver `raw` to the relay for `to_address`, or raise RelayRefused."""
    context = ssl.create_default_context()
    try:
        smtp: smtplib.SMTP
        if relay.ssl:
            smtp = smtplib.SMTP_SSL(
                relay.host, relay.port, timeout=SMTP_TIMEOUT_SECONDS, context=context
            )
        else:
            smtp = smtplib.SMTP(relay.host, relay.port, timeout=SMTP_TIMEOUT_SECONDS)
        with smtp:
            smtp.ehlo()
            if relay.starttls:
                smtp.starttls(context=context)
                smtp.ehlo()
            if relay.user:
                smtp.login(relay.user, relay.password)
            smtp.sendmail(envelope_from, [to_address], raw)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        final = all(code >= 500 for code in codes)
        raise RelayRefused(f"recipient refused ({codes})", final=final) from None
    except smtplib.SMTPAuthenticationError as exc:
        # The relay's credentials are wrong: a setting to fix, not a reason to drop the mail.
        raise RelayRefused(f"authentication failed ({exc.smtp_code})", final=False) from None
    except smtplib.SMTPResponseException as exc:
        raise RelayRefused(
            f"relay answered {exc.smtp_code}: {_text(exc.smtp_error)}", final=exc.smtp_code >= 500
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise RelayRefused(f"{type(exc).__name__}: relay unreachable", final=False) from None


def _text(value: bytes | str) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return text[:200]
