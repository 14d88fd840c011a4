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


class RelayConnection:
    """One SMTP session, opened at the first mail and kept for the rest of a sending round
    (a round's mails share the handshake, TLS and login); after any failure it is closed, and
    the next mail opens a new one."""

    def __init__(self, relay: SmtpRelay, envelope_from: str) -> None:
        self.relay = relay
        self.envelope_from = envelope_from
        # The EHLO name: the support address's domain. Left to smtplib it is
        # socket.getfqdn(), a reverse DNS lookup that can take seconds.
        self.helo = envelope_from.rpartition("@")[2] or "localhost"
        self._smtp: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        relay, context = self.relay, ssl.create_default_context()
        smtp: smtplib.SMTP
        if relay.ssl:
            smtp = smtplib.SMTP_SSL(
                relay.host,
                relay.port,
                local_hostname=self.helo,
                timeout=SMTP_TIMEOUT_SECONDS,
                context=context,
            )
        else:
            smtp = smtplib.SMTP(
                relay.host, relay.port, local_hostname=self.helo, timeout=SMTP_TIMEOUT_SECONDS
            )
        try:
            smtp.ehlo()
            if relay.starttls:
                smtp.starttls(context=context)
                smtp.ehlo()
            if relay.user:
                smtp.login(relay.user, relay.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, to_address: str, raw: bytes) -> None:
        """Deliver `raw` for `to_address`, or raise RelayRefused."""
        try:
            if self._smtp is None:
                self._smtp = self._open()
            self._smtp.sendmail(self.envelope_from, [to_address], raw)
        except smtplib.SMTPRecipientsRefused as exc:
            self._reset()  # RSET: the session is clean for the next mail
            codes = [code for code, _ in exc.recipients.values()]
            final = all(code >= 500 for code in codes)
            raise RelayRefused(f"recipient refused ({codes})", final=final) from None
        except smtplib.SMTPAuthenticationError as exc:
            self.close()
            # The relay's credentials are wrong: a setting to fix, not a reason to drop mail.
            raise RelayRefused(f"authentication failed ({exc.smtp_code})", final=False) from None
        except smtplib.SMTPResponseException as exc:
            self.close()
            raise RelayRefused(
                f"relay answered {exc.smtp_code}: {_text(exc.smtp_error)}",
                final=exc.smtp_code >= 500,
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise RelayRefused(f"{type(exc).__name__}: relay unreachable", final=False) from None

    def _reset(self) -> None:
        try:
            if self._smtp is not None:
                self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            self.close()

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def _text(value: bytes | str) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return text[:200]
