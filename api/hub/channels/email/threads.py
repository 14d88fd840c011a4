"""Which conversation a mail belongs to, and the thread a conversation is mailed on.

A reply is matched by the Message-IDs it names (In-Reply-To, then References, newest
first) against every mail OpsDesk sent or took in; failing that, by the reference in its
subject, and only when it comes from the address that conversation is mailed to (a
reference alone is short enough to be copied onto someone else's conversation)."""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.hub.channels.email.compose import new_reference, reference_in
from api.hub.channels.email.models import EmailRecord, EmailThread
from api.ops.conversations.models import Conversation
from api.ops.tickets.models import Ticket


def key_of(rfc_message_id: str) -> str:
    return hashlib.sha256(rfc_message_id.strip().encode()).hexdigest()


def conversation_named_by(
    db: Session, *, named_ids: list[str], subject: str, from_address: str
) -> Conversation | None:
    """The conversation a mail replies to, or None for a new one."""
    for rfc_id in reversed(named_ids):
        record = db.scalar(select(EmailRecord).where(EmailRecord.message_key == key_of(rfc_id)))
        if record is not None and record.conversation_id:
            conversation = db.get(Conversation, record.conversation_id)
            if conversation is not None:
                return conversation
    reference = reference_in(subject)
    if reference:
        thread = db.scalar(select(EmailThread).where(EmailThread.reference == reference))
        if thread is not None and thread.customer_address == from_address:
            return db.get(Conversation, thread.conversation_id)
    return None


def start_thread(db: Session, *, conversation_id: str, address: str, subject: str) -> EmailThread:
    """The thread of a conversation (made on its first mail either way)."""
    thread = db.get(EmailThread, conversation_id)
    if thread is None:
        thread = EmailThread(
            conversation_id=conversation_id,
            reference=new_reference(),
            customer_address=address,
            subject=subject,
            references="",
        )
        db.add(thread)
        db.flush()
    return thread


def note_inbound(db: Session, *, conversation_id: str, rfc_message_id: str) -> None:
    """A mail from the customer in this thread: the next reply answers it."""
    thread = db.get(EmailThread, conversation_id)
    if thread is not None:
        thread.last_message_id = rfc_message_id
        thread.references = " ".join([*thread.references.split(), rfc_message_id][-20:])


def customer_address(db: Session, conversation: Conversation) -> str | None:
    """Where to write to a customer who left the chat: the address they proved (an order
    verified), else the one on their open ticket."""
    if conversation.customer_email:
        return conversation.customer_email
    return db.scalar(
        select(Ticket.customer_email)
        .where(Ticket.conversation_id == conversation.id, Ticket.customer_email.is_not(None))
        .order_by(Ticket.id.desc())
        .limit(1)
    )


def thread_for_outbound(db: Session, conversation: Conversation) -> EmailThread | None:
    """The conversation's thread, started now for a chat whose customer has an address; None
    when there is nobody to write to."""
    thread = db.get(EmailThread, conversation.id)
    if thread is not None:
        return thread
    address = customer_address(db, conversation)
    if not address:
        return None
    return start_thread(db, conversation_id=conversation.id, address=address.lower(), subject="")
