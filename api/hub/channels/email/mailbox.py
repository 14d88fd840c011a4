"""Polling the support mailbox over IMAP (standard library imaplib, in a worker thread).

Each round reads the mails whose UID is above the last one done (`email_mailboxes`), takes
each in (inbound.take_in), then flags it \\Seen and moves the mark past it. A mail is taken
in before its mark moves, so a crash in between only means it is read again, and its
Message-ID is then recognised. A new UIDVALIDITY (the folder was rebuilt) starts from the
first UID again, with the same protection.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import re
import ssl

import anyio

from api.db import begin_write, session_scope
from api.hub.channels.email import inbound
from api.hub.channels.email.config import ImapMailbox
from api.hub.channels.email.models import MailboxState
from api.hub.channels.email.parsing import parse
from api.settings import Settings

log = logging.getLogger("opsdesk.hub.email")
BATCH = 50  # mails per round: a big backlog is worked through across rounds
IMAP_TIMEOUT_SECONDS = 30.0
_SIZE_RE = re.compile(rb"RFC822\.SIZE (\d+)")


def _connect(box: ImapMailbox) -> imaplib.IMAP4:
    imap: imaplib.IMAP4
    if box.ssl:
        imap = imaplib.IMAP4_SSL(
            box.host,
            box.port,
            ssl_context=ssl.create_default_context(),
            timeout=IMAP_TIMEOUT_SECONDS,
        )
    else:
        imap = imaplib.IMAP4(box.host, box.port, timeout=IMAP_TIMEOUT_SECONDS)
    imap.login(box.user, box.password)
    status, _ = imap.select(_quoted(box.mailbox))
    if status != "OK":
        raise imaplib.IMAP4.error(f"mailbox {box.mailbox!r} cannot be opened")
    return imap


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _uidvalidity(imap: imaplib.IMAP4) -> int:
    _, values = imap.response("UIDVALIDITY")
    return int(values[0]) if values and values[0] else 0


def _mark(key: str) -> tuple[int, int]:
    with session_scope() as db:
        state = db.get(MailboxState, key)
        return (state.uidvalidity, state.last_uid) if state else (0, 0)


def _save_mark(key: str, uidvalidity: int, last_uid: int) -> None:
    with session_scope() as db:
        begin_write(db)
        state = db.get(MailboxState, key)
        if state is None:
            db.add(MailboxState(mailbox=key, uidvalidity=uidvalidity, last_uid=last_uid))
        else:
            state.uidvalidity, state.last_uid = uidvalidity, last_uid


def _new_uids(imap: imaplib.IMAP4, after: int) -> list[int]:
    status, data = imap.uid("SEARCH", f"UID {after + 1}:*")
    if status != "OK" or not data or not data[0]:
        return []
    # "n:*" always names the newest mail, even when its UID is n - 1 or less.
    return sorted(uid for uid in (int(u) for u in data[0].split()) if uid > after)


def _fetch(imap: imaplib.IMAP4, uid: int, max_bytes: int) -> tuple[bytes, bool]:
    """The mail's bytes (only its headers when above max_bytes) and whether it was too big;
    BODY.PEEK so that a mail is flagged \\Seen only once it is taken in."""
    _, sized = imap.uid("FETCH", str(uid), "(RFC822.SIZE)")
    match = _SIZE_RE.search(b" ".join(p if isinstance(p, bytes) else p[0] for p in sized if p))
    size = int(match.group(1)) if match else 0
    oversize = size > max_bytes
    part = "BODY.PEEK[HEADER]" if oversize else "BODY.PEEK[]"
    status, data = imap.uid("FETCH", str(uid), f"({part})")
    for item in data or []:
        if isinstance(item, tuple) and len(item) == 2:
            return bytes(item[1]), oversize
    raise imaplib.IMAP4.error(f"UID {uid} could not be read ({status})")


async def poll_once(box: ImapMailbox, settings: Settings) -> int:
    """One round; returns how many mails were taken in."""
    key = f"{box.user}@{box.host}:{box.port}/{box.mailbox}"[:300]
    imap = await anyio.to_thread.run_sync(_connect, box)
    taken = 0
    try:
        uidvalidity = _uidvalidity(imap)
        known_validity, last_uid = await anyio.to_thread.run_sync(_mark, key)
        if known_validity != uidvalidity:
            last_uid = 0
        uids = (await anyio.to_thread.run_sync(_new_uids, imap, last_uid))[:BATCH]
        for uid in uids:
            raw, oversize = await anyio.to_thread.run_sync(
                _fetch, imap, uid, settings.email_max_message_bytes
            )
            try:
                mail = parse(raw, max_attachments=settings.email_max_attachments, oversize=oversize)
            except Exception:  # noqa: BLE001 - one unreadable mail must not stop the mailbox
                # Left unread in the mailbox, where a person finds it; the poll goes on.
                log.exception("email: mail UID %s could not be read; left unread", uid)
                await anyio.to_thread.run_sync(_save_mark, key, uidvalidity, uid)
                continue
            kind = await inbound.take_in(mail, oversize=oversize)
            log.info("email: mail UID %s taken in as %s", uid, kind)
            await anyio.to_thread.run_sync(imap.uid, "STORE", str(uid), "+FLAGS", "(\\Seen)")
            await anyio.to_thread.run_sync(_save_mark, key, uidvalidity, uid)
            taken += 1
    finally:
        await anyio.to_thread.run_sync(_logout, imap)
    return taken


def _logout(imap: imaplib.IMAP4) -> None:
    with contextlib.suppress(imaplib.IMAP4.error, OSError):
        imap.logout()
