"""The outbox's database work, each function one transaction (run in a worker thread).

A message to mail goes through three steps, each committed before the next:
  1. `enqueue`: the transcript message is taken in (`email_queue`, keyed by the message id,
     so the hub delivering it again changes nothing);
  2. `compose_due`: queued messages of one conversation that came within the batch window
     become one mail (`email_outbox`) with its Message-ID and its bytes, fixed from then on;
  3. `claim` / `record_sent` / `record_failure`: the sending loop takes a due mail, hands it
     to the relay and writes the outcome on the mail and on its transcript messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.db import begin_write, session_scope, utcnow
from api.hub.channels.email.compose import Part, Threading, compose, new_message_id
from api.hub.channels.email.models import EmailQueued, EmailRecord, EmailThread, OutboxMail
from api.hub.channels.email.relay import SMTP_TIMEOUT_SECONDS
from api.hub.channels.email.threads import key_of, thread_for_outbound
from api.ops.conversations.models import Conversation, Message

# A mail being handed to the relay is not taken again for this long, plus the SMTP timeout
# for each mail claimed with it (a second process, or this one after a crash mid-send,
# retries it after that).
CLAIM_SECONDS = 120


def enqueue(message_id: int, conversation_id: str) -> bool:
    """Take the transcript message in for mailing. False when the conversation has no address
    to write to (the message stays pending for its own channel)."""
    with session_scope() as db:
        begin_write(db)
        if db.get(EmailQueued, message_id) is not None:
            return True
        conversation = db.get(Conversation, conversation_id)
        if conversation is None or thread_for_outbound(db, conversation) is None:
            return False
        db.add(EmailQueued(message_id=message_id, conversation_id=conversation_id))
        return True


def compose_due(from_header: str, batch_seconds: float) -> int:
    """Turn messages queued at least `batch_seconds` ago into mails, one per conversation.
    Returns how many mails were composed."""
    with session_scope() as db:
        begin_write(db)
        cutoff = utcnow() - timedelta(seconds=batch_seconds)
        waiting = list(
            db.scalars(
                select(EmailQueued)
                .where(EmailQueued.mail_id.is_(None), EmailQueued.created_at <= cutoff)
                .order_by(EmailQueued.message_id)
                .limit(200)
                .with_for_update(skip_locked=True)
            )
        )
        by_conversation: dict[str, list[EmailQueued]] = {}
        for queued in waiting:
            by_conversation.setdefault(queued.conversation_id, []).append(queued)
        for conversation_id, queued_messages in by_conversation.items():
            thread = db.get(EmailThread, conversation_id)
            conversation = db.get(Conversation, conversation_id)
            if thread is None or conversation is None:  # enqueue made sure; never loop on it
                _give_up(db, queued_messages, "email: the conversation has no email thread")
                continue
            messages = [db.get(Message, q.message_id) for q in queued_messages]
            parts = [_part(m) for m in messages if m is not None]
            rfc_id = new_message_id(from_header)
            references = thread.references.split()
            mail = compose(
                from_header=from_header,
                threading=Threading(
                    to_address=thread.customer_address,
                    to_name=conversation.customer_name,
                    subject=thread.subject,
                    reference=thread.reference,
                    in_reply_to=thread.last_message_id,
                    references=references,
                ),
                parts=parts,
                message_id=rfc_id,
            )
            outbox = OutboxMail(
                conversation_id=conversation_id,
                rfc_message_id=rfc_id,
                to_address=thread.customer_address,
                raw=mail.as_bytes().decode("ascii", "replace"),
                next_attempt_at=utcnow(),
            )
            db.add(outbox)
            db.flush()
            for queued in queued_messages:
                queued.mail_id = outbox.id
            thread.last_message_id = rfc_id
            thread.references = " ".join([*references, rfc_id][-20:])
            db.add(
                EmailRecord(
                    message_key=key_of(rfc_id),
                    rfc_message_id=rfc_id,
                    direction="out",
                    kind="reply",
                    conversation_id=conversation_id,
                    hub_message_id=queued_messages[-1].message_id,
                    address=thread.customer_address,
                    subject=thread.subject,
                )
            )
        return len(by_conversation)


def _give_up(db: Session, queued_messages: list[EmailQueued], reason: str) -> None:
    ids = [q.message_id for q in queued_messages]
    db.execute(
        update(Message)
        .where(Message.id.in_(ids), Message.state == "pending")
        .values(state="failed", delivery_error=reason)
    )
    for queued in queued_messages:
        db.delete(queued)


def _part(message: Message) -> Part:
    buttons = [str(b.get("title") or "") for b in (message.payload or {}).get("buttons") or []]
    return Part(
        text=message.text,
        author=message.author,
        agent_name=message.agent_name,
        buttons=[b for b in buttons if b],
    )


@dataclass(frozen=True)
class DueMail:
    id: int
    to_address: str
    raw: bytes
    attempts: int


def claim(limit: int = 20) -> list[DueMail]:
    """Mails due for an attempt, each held for CLAIM_SECONDS so nobody else sends it."""
    with session_scope() as db:
        begin_write(db)
        now = utcnow()
        due = list(
            db.scalars(
                select(OutboxMail)
                .where(OutboxMail.status == "queued", OutboxMail.next_attempt_at <= now)
                .order_by(OutboxMail.next_attempt_at, OutboxMail.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        # Long enough for every claimed mail to meet the SMTP timeout in turn.
        held_until = now + timedelta(seconds=CLAIM_SECONDS + len(due) * SMTP_TIMEOUT_SECONDS)
        for mail in due:
            mail.next_attempt_at = held_until
        return [DueMail(m.id, m.to_address, m.raw.encode("ascii"), m.attempts) for m in due]


def record_sent(mail_id: int) -> list[int]:
    """The relay took the mail: it and its transcript messages are sent. Returns the
    messages' ids."""
    with session_scope() as db:
        begin_write(db)
        mail = db.get(OutboxMail, mail_id)
        if mail is None:
            return []
        now = utcnow()
        mail.status, mail.sent_at, mail.attempts = "sent", now, mail.attempts + 1
        mail.last_error = None
        return _settle_messages(db, mail_id, "sent", None, now)


def record_failure(mail_id: int, reason: str, final: bool, retry_at: datetime | None) -> None:
    """An attempt failed: try again at `retry_at`, or (final, or no retry left) mark the mail
    and its transcript messages failed, with the reason for the agent."""
    with session_scope() as db:
        begin_write(db)
        mail = db.get(OutboxMail, mail_id)
        if mail is None:
            return
        mail.attempts += 1
        mail.last_error = reason[:300]
        if final or retry_at is None:
            mail.status = "failed"
            _settle_messages(db, mail_id, "failed", f"email: {reason}"[:300], utcnow())
        else:
            mail.next_attempt_at = retry_at


def record_bounce(rfc_message_ids: list[str], reason: str) -> list[int]:
    """A bounce came back for one of our mails (matched by its Message-ID among the mails we
    sent): the mail and its transcript messages are failed, with the reason for the agent,
    even though the relay had taken it. Returns the messages' ids."""
    with session_scope() as db:
        begin_write(db)
        for rfc_id in rfc_message_ids:
            record = db.scalar(
                select(EmailRecord).where(
                    EmailRecord.message_key == key_of(rfc_id), EmailRecord.direction == "out"
                )
            )
            queued = db.get(EmailQueued, record.hub_message_id) if record else None
            mail = db.get(OutboxMail, queued.mail_id) if queued and queued.mail_id else None
            if mail is None or mail.rfc_message_id != rfc_id.strip():
                continue
            mail.status, mail.last_error = "failed", f"bounced: {reason}"[:300]
            ids = list(
                db.scalars(select(EmailQueued.message_id).where(EmailQueued.mail_id == mail.id))
            )
            db.execute(
                update(Message)
                .where(Message.id.in_(ids), Message.state.in_(("pending", "sent")))
                .values(state="failed", delivery_error=f"email: bounced: {reason}"[:300])
            )
            return ids
    return []


def _settle_messages(
    db: Session, mail_id: int, state: str, error: str | None, now: datetime
) -> list[int]:
    ids = list(db.scalars(select(EmailQueued.message_id).where(EmailQueued.mail_id == mail_id)))
    if ids:
        db.execute(
            update(Message)
            .where(Message.id.in_(ids), Message.state == "pending")
            .values(
                state=state, delivery_error=error, delivered_at=now if state == "sent" else None
            )
        )
    return ids
