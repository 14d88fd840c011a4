"""A mail from the support mailbox into the hub.

- A mail already taken in (the same Message-ID) is skipped: `email_records` holds every one.
- A program's mail (auto-reply, bounce, list) is recorded and goes no further: nothing
  answers it, so two autoresponders never talk to each other through OpsDesk.
- A reply to a conversation becomes the customer's next message there, on whatever channel
  that conversation started (a chat customer who left and answers our mail is back in their
  chat's transcript).
- Any other mail starts an email conversation. The assistant keeps it only when it is sure:
  the intent is order_status with at least `email_bot_min_confidence`, the mail names an
  order, and the sender's address proves that order (the same verification as in chat, with
  its limits). Otherwise the conversation goes to the queue with the whole mail in the
  ticket's summary.

Every step is idempotent, so a crash anywhere before the mail is recorded only means it is
taken in again on the next poll, landing in the same conversation once: the conversation's
channel key is made from the Message-ID, and the hub stores one message per Message-ID.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import httpx
from sqlalchemy import select

from api.db import begin_write, session_scope
from api.errors import ApiError
from api.hub import get_hub
from api.hub.channels.email import outbox
from api.hub.channels.email.compose import bare_subject
from api.hub.channels.email.config import CHANNEL
from api.hub.channels.email.models import EmailRecord
from api.hub.channels.email.parsing import ParsedMail
from api.hub.channels.email.threads import (
    conversation_named_by,
    key_of,
    note_inbound,
    start_thread,
)
from api.hub.messages import InboundMessage
from api.ops.conversations import service as conversations
from api.ops.conversations.models import Conversation
from api.ops.tickets import service as tickets
from api.ops.tickets.models import Ticket
from api.ops.verification import service as verification
from api.settings import get_settings
from opsdesk_ids import find_order_number

log = logging.getLogger("opsdesk.hub.email")
MAX_SUMMARY = 3000
T = TypeVar("T")


@dataclass(frozen=True)
class Target:
    conversation_id: str
    channel: str
    channel_key: str


def transcript_text(mail: ParsedMail, *, first: bool) -> str:
    """What the transcript (and the assistant) gets: the subject of a first mail, the text,
    and the sender's address, which is the proof the assistant checks an order against."""
    body = mail.text or "(no text)"
    head = f"{mail.subject}\n\n" if first and mail.subject else ""
    listed = "".join(
        f"\n[attachment: {a.name}, {a.content_type}, {a.size} bytes]" for a in mail.attachments
    )
    return f"{head}{body}{listed}\n\n— {mail.from_address}"


async def take_in(mail: ParsedMail, *, oversize: bool = False) -> str:
    """Process one mail; returns what it was: duplicate, auto_reply, bounce, reply, new."""
    if await _db(_already_taken, mail.message_id):
        return "duplicate"
    if mail.automatic or not mail.from_address or "@" not in mail.from_address:
        kind = mail.automatic or "bounce"
        log.info(
            "email: a mail recognised as %s (%s) was not answered", kind, mail.automatic_reason
        )
        await _db(_record, mail, kind, None, None)
        if mail.bounced_ids:
            failed = await _db(outbox.record_bounce, mail.bounced_ids, mail.bounce_reason)
            if failed:
                log.warning("email: a reply bounced (%s); marked failed", mail.bounce_reason)
        return kind
    target = await _db(_reply_target, mail)
    kind = "reply"
    if target is None:
        kind = "new"
        target = await _db(_open_conversation, mail, oversize)
        if not await _assistant_is_sure(mail, target.conversation_id, oversize):
            await _db(_to_the_queue, mail, target.conversation_id, oversize)
    stored = await get_hub().store(
        InboundMessage(
            channel=target.channel,
            channel_key=target.channel_key,
            text=transcript_text(mail, first=kind == "new"),
            external_id=mail.message_id[:200],
            metadata={"customer_name": mail.from_name} if mail.from_name else {},
        )
    )
    await _db(_record, mail, kind, target.conversation_id, stored.message_id)
    return kind


async def _db(fn: Callable[..., T], *args: Any) -> T:
    return await anyio.to_thread.run_sync(fn, *args)


def _already_taken(rfc_message_id: str) -> bool:
    with session_scope() as db:
        key = key_of(rfc_message_id)
        return db.scalar(select(EmailRecord.id).where(EmailRecord.message_key == key)) is not None


def _reply_target(mail: ParsedMail) -> Target | None:
    with session_scope() as db:
        conversation = conversation_named_by(
            db, named_ids=mail.named_ids, subject=mail.subject, from_address=mail.from_address
        )
        if conversation is None:
            return None
        return Target(conversation.id, conversation.channel, conversation.channel_key or "")


def _open_conversation(mail: ParsedMail, oversize: bool) -> Target:
    key = "mail:" + key_of(mail.message_id)[:40]
    with session_scope() as db:
        begin_write(db)
        conversation = conversations.get_or_create_by_channel_key(
            db_session=db, channel=CHANNEL, channel_key=key, customer_name=mail.from_name or None
        )
        start_thread(
            db,
            conversation_id=conversation.id,
            address=mail.from_address,
            subject=bare_subject(mail.subject),
        )
        return Target(conversation.id, CHANNEL, key)


async def _assistant_is_sure(mail: ParsedMail, conversation_id: str, oversize: bool) -> bool:
    """The three conditions of the module's docstring; any doubt sends the mail to a person."""
    if oversize:
        return False
    order_number = find_order_number(f"{mail.subject}\n{mail.text}")
    if order_number is None:
        return False
    settings = get_settings()
    try:
        async with httpx.AsyncClient(timeout=settings.rasa_timeout_seconds) as client:
            response = await client.post(
                f"{settings.rasa_url.rstrip('/')}/model/parse",
                json={"text": transcript_text(mail, first=True)},
                # Rasa's HTTP API asks for its token (a query parameter) when it has one.
                params={"token": settings.rasa_token} if settings.rasa_token else None,
            )
        response.raise_for_status()
        intent = response.json().get("intent") or {}
    except (httpx.HTTPError, ValueError) as exc:
        log.info("email: the assistant could not read a first mail (%s); to the queue", exc)
        return False
    if intent.get("name") != "order_status":
        return False
    if float(intent.get("confidence") or 0) < settings.email_bot_min_confidence:
        return False
    try:
        await anyio.to_thread.run_sync(_prove, order_number, conversation_id, mail.from_address)
    except ApiError:  # not the order's address, or too many attempts: a person decides
        return False
    return True


def _prove(order_number: str, conversation_id: str, address: str) -> None:
    verification.prove_order(
        order_number=order_number, conversation_id=conversation_id, email=address, postal_code=None
    )


def _to_the_queue(mail: ParsedMail, conversation_id: str, oversize: bool) -> None:
    """Open the ticket (once: a mail taken in again finds it open) with the whole mail."""
    with session_scope() as db:
        begin_write(db)
        conversation = db.get(Conversation, conversation_id)
        if conversation is None:
            return
        open_ticket = db.scalar(
            select(Ticket.id).where(
                Ticket.conversation_id == conversation_id, Ticket.status != "resolved"
            )
        )
        if open_ticket is not None:
            return
        tickets.create(
            db_session=db,
            conversation_id=conversation_id,
            channel=CHANNEL,
            customer_email=mail.from_address,
            order_number=find_order_number(f"{mail.subject}\n{mail.text}"),
            reason="email",
            priority="normal",
            summary=_summary(mail, oversize),
            actor="email",
        )


def _summary(mail: ParsedMail, oversize: bool) -> str:
    lines = [f"Email from {mail.from_address}: {mail.subject or '(no subject)'}", ""]
    if oversize:
        max_mb = get_settings().email_max_message_bytes / 1_000_000
        lines.append(f"The mail is larger than {max_mb:g} MB and was not read: see the mailbox.")
    else:
        lines.append(mail.text or "(no text)")
    for a in mail.attachments:
        lines.append(f"Attachment: {a.name} ({a.content_type}, {a.size} bytes)")
    return "\n".join(lines)[:MAX_SUMMARY]


def _record(
    mail: ParsedMail, kind: str, conversation_id: str | None, hub_message_id: int | None
) -> None:
    with session_scope() as db:
        begin_write(db)
        key = key_of(mail.message_id)
        if db.scalar(select(EmailRecord.id).where(EmailRecord.message_key == key)) is not None:
            return
        db.add(
            EmailRecord(
                message_key=key,
                rfc_message_id=mail.message_id,
                direction="in",
                kind=kind,
                conversation_id=conversation_id,
                hub_message_id=hub_message_id,
                address=mail.from_address or None,
                subject=mail.subject,
                attachments=[a.as_dict() for a in mail.attachments] or None,
            )
        )
        if conversation_id:
            note_inbound(db, conversation_id=conversation_id, rfc_message_id=mail.message_id)
