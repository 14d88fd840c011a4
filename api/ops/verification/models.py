from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base
from api.ops.common.types import UTCDateTime


class VerificationBucket(Base):
    """Failed proofs of identity counted for one key (a conversation, an order number, an RMA)
    in a fixed window; one row per key, updated by one atomic statement per attempt."""

    __tablename__ = "verification_buckets"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    max_failures: Mapped[int] = mapped_column(default=5)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
