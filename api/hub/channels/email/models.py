"""The email channel's tables: a thread per conversation, every mail in or out by its
Message-ID (threading and "never twice"), the outbox, and where the mailbox poll stopped."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, utcnow
from api.ops.common.types import UTCDateTime


class EmailThread(Base):
    """How a conversation is written to by email: to whom, under which subject and reference,
    and the Message-IDs a reply names (In-Reply-To, References)."""

    __tablename__ = "email_threads"

    conversation_id: Mapped[str] = mapped_column(
        String(120), ForeignKey("conversations.id"), primary_key=True
    )
    # In every subject ("[#OD-7K3Q9XWA]"), so a reply whose mail program dropped the
    # threading headers still finds its conversation (from the same address only).
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    customer_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200), default="")
    last_message_id: Mapped[str | None] = mapped_column(String(250))
    references: Mapped[str] = mapped_column(Text, default="")  # space separated, newest last
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EmailRecord(Base):
    """One mail received or sent, by its Message-ID: a mail received twice is processed
    once, and a reply naming a Message-ID finds the conversation it belongs to."""

    __tablename__ = "email_records"
    __table_args__ = (Index("ix_email_records_conversation_id", "conversation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # sha256 of the normalized Message-ID: any length of id fits one unique index.
    message_key: Mapped[str] = mapped_column(String(64), unique=True)
    rfc_message_id: Mapped[str] = mapped_column(String(250))
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    # in: reply | new | auto_reply | bounce | oversize; out: reply
    kind: Mapped[str] = mapped_column(String(12))
    conversation_id: Mapped[str | None] = mapped_column(String(120))
    hub_message_id: Mapped[int | None] = mapped_column(Integer)
    address: Mapped[str | None] = mapped_column(String(254))  # the other party
    subject: Mapped[str] = mapped_column(String(200), default="")
    # [{"name", "content_type", "size"}]: references only, never the content.
    attachments: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EmailQueued(Base):
    """A message of the transcript to be mailed; `mail_id` once it is in a mail. The unique
    message_id is what makes a reply go out once however often the hub delivers it."""

    __tablename__ = "email_queue"

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(120), index=True)
    mail_id: Mapped[int | None] = mapped_column(ForeignKey("email_outbox.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxMail(Base):
    """A composed mail waiting for the relay. Retried with backoff; the same bytes (and
    Message-ID) on every attempt."""

    __tablename__ = "email_outbox"
    __table_args__ = (Index("ix_email_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(120))
    rfc_message_id: Mapped[str] = mapped_column(String(250))
    to_address: Mapped[str] = mapped_column(String(254))
    raw: Mapped[str] = mapped_column(Text)  # the whole RFC 5322 message
    status: Mapped[str] = mapped_column(String(10), default="queued")  # queued | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(300))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MailboxState(Base):
    """Where the poll of an IMAP mailbox stopped: UIDs at or below last_uid are done, for as
    long as the server's UIDVALIDITY stays the same."""

    __tablename__ = "email_mailboxes"

    mailbox: Mapped[str] = mapped_column(String(300), primary_key=True)  # user@host/folder
    uidvalidity: Mapped[int] = mapped_column(BigInteger, default=0)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
