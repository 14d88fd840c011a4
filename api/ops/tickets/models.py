from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, utcnow
from api.ops.common.types import UTCDateTime


class Ticket(Base):
    """A case in the human queue."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_status_priority", "status", "priority"),
        # At most one unresolved ticket per conversation, whatever the concurrency.
        Index(
            "uq_tickets_open_conversation",
            "conversation_id",
            unique=True,
            sqlite_where=text("status != 'resolved'"),
            postgresql_where=text("status != 'resolved'"),
        ),
        Index("ix_tickets_updated_at", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str | None] = mapped_column(String(120), index=True)
    channel: Mapped[str] = mapped_column(String(20), default="web")
    customer_email: Mapped[str | None] = mapped_column(String(254))
    order_number: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(40))
    priority: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default="open")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    summary: Mapped[str] = mapped_column(Text, default="")
    sla_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A pending ticket set aside until then (the console's snooze); it shows again after.
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
