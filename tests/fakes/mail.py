"""Real mail servers for the email channel's tests: an SMTP relay (aiosmtpd) that keeps what
it receives and can be switched to refusing, and Debian's dovecot serving one IMAP mailbox
from a temporary directory on a free port (installed by scripts/setup-mail-server.sh)."""

from __future__ import annotations

import email
import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

DOVECOT = "/usr/sbin/dovecot"
IMAP_USER = "support"
IMAP_PASSWORD = "imap-password-for-tests-3c9d"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Keeper:
    def __init__(self, relay: SmtpRelay) -> None:
        self.relay = relay

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.lower() in self.relay.unknown_recipients:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.relay.refusing:
            self.relay.refused += 1
            return "451 4.3.0 relay busy, try again later"
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        self.relay.received.append(
            {
                "mail_from": envelope.mail_from,
                "rcpt_tos": list(envelope.rcpt_tos),
                "message": email.message_from_bytes(content, policy=default),
                "at": time.monotonic(),
            }
        )
        return "250 OK queued"


class SmtpRelay:
    """An SMTP server on 127.0.0.1; `refusing` answers every mail 451 (a relay that is up
    but cannot take mail now), `unknown_recipients` get 550 (final), `stop()` makes it
    unreachable."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[dict[str, Any]] = []
        self.refusing = False
        self.refused = 0
        self.unknown_recipients: set[str] = set()  # RCPT answered 550
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> SmtpRelay:
        self._controller = Controller(_Keeper(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def messages_to(self, address: str) -> list[EmailMessage]:
        return [r["message"] for r in self.received if address in r["rcpt_tos"]]


class Dovecot:
    """dovecot with one user (IMAP_USER) whose INBOX is a Maildir under `root`."""

    def __init__(self) -> None:
        # Not under pytest's tmp_path: dovecot's auth process runs as its own user and must
        # reach the users file, and pytest's directories are private to this user.
        self.root = Path(tempfile.mkdtemp(prefix="opsdesk-dovecot-"))
        self.root.chmod(0o755)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"imap://127.0.0.1:{self.port}/INBOX"

    def start(self) -> Dovecot:
        if not Path(DOVECOT).exists():
            raise RuntimeError("dovecot is not installed: bash scripts/setup-mail-server.sh")
        # The mailbox's owner: this user, or Debian's `mail` user when this is root (dovecot
        # never lets a mail process run as root).
        me = pwd.getpwuid(os.getuid()) if os.getuid() != 0 else pwd.getpwnam("mail")
        for name in ("run", "mail", "state", "log"):
            (self.root / name).mkdir(parents=True, exist_ok=True)
        os.chown(self.root / "mail", me.pw_uid, me.pw_gid)
        users = self.root / "users"
        users.write_text(
            f"{IMAP_USER}:{{PLAIN}}{IMAP_PASSWORD}:{me.pw_uid}:{me.pw_gid}::{self.root / 'mail'}\n"
        )
        conf = self.root / "dovecot.conf"
        conf.write_text(
            "\n".join(
                [
                    f"base_dir = {self.root / 'run'}",
                    f"state_dir = {self.root / 'state'}",
                    f"log_path = {self.root / 'log' / 'dovecot.log'}",
                    "protocols = imap",
                    "listen = 127.0.0.1",
                    "ssl = no",
                    "disable_plaintext_auth = no",
                    "auth_mechanisms = plain login",
                    f"mail_location = maildir:{self.root / 'mail'}/Maildir",
                    f"first_valid_uid = {min(me.pw_uid, 500)}",
                    f"default_login_user = {_login_user()}",
                    f"default_internal_user = {_internal_user()}",
                    "passdb {\n  driver = passwd-file\n  args = " + str(users) + "\n}",
                    "userdb {\n  driver = passwd-file\n  args = " + str(users) + "\n}",
                    "service imap-login {\n  inet_listener imap {\n"
                    f"    address = 127.0.0.1\n    port = {self.port}\n  }}\n"
                    "  inet_listener imaps {\n    port = 0\n  }\n}",
                    "service stats {\n  unix_listener stats-writer {\n    mode = 0666\n  }\n}",
                    "",
                ]
            )
        )
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot stopped: {self._log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"dovecot did not listen on {self.port}: {self._log()}")

    def _log(self) -> str:
        path = self.root / "log" / "dovecot.log"
        stderr = b""
        if self.process is not None and self.process.poll() is not None and self.process.stderr:
            stderr = self.process.stderr.read()
        return (path.read_text() if path.exists() else "") + stderr.decode(errors="replace")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self.process = None
        shutil.rmtree(self.root, ignore_errors=True)

    def _imap(self) -> imaplib.IMAP4:
        imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        imap.login(IMAP_USER, IMAP_PASSWORD)
        return imap

    def deliver(self, mail: EmailMessage | bytes) -> None:
        """Put a mail in the INBOX, unread, as the mail server would on arrival."""
        raw = mail if isinstance(mail, bytes) else mail.as_bytes()
        imap = self._imap()
        try:
            status, _ = imap.append("INBOX", "", imaplib.Time2Internaldate(time.time()), raw)
            assert status == "OK"
        finally:
            imap.logout()

    def unseen_count(self) -> int:
        imap = self._imap()
        try:
            imap.select("INBOX")
            _, data = imap.search(None, "UNSEEN")
            return len(data[0].split()) if data and data[0] else 0
        finally:
            imap.logout()


def _login_user() -> str:
    return "dovenull" if _user_exists("dovenull") else pwd.getpwuid(os.getuid()).pw_name


def _internal_user() -> str:
    return "dovecot" if _user_exists("dovecot") else pwd.getpwuid(os.getuid()).pw_name


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False
