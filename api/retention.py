"""Deleting rows that have outlived their use, in small batches so writers never wait long.

- Idempotency records, after `OPSDESK_IDEMPOTENCY_RETENTION_HOURS` (default 24): a retry
  with the same key after that creates anew.
- Verification buckets (the failed proofs counted for one conversation, order or return),
  once their window (`OPSDESK_LOOKUP_FAILURE_WINDOW_SECONDS`) has passed: the next attempt
  for that key would start the bucket afresh anyway. Without this, every conversation and
  every order number ever tried would keep a row.

The api process prunes every `OPSDESK_PRUNE_INTERVAL_SECONDS` (default 600); `opsdesk prune`
does the same once, from the command line.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import InstrumentedAttribute

from api import metrics
from api.db import WRITE_OPTION, utcnow
from api.ops.common.idempotency import IdempotencyRecord
from api.ops.verification.models import VerificationBucket
from api.settings import Settings

log = logging.getLogger("opsdesk.retention")

BATCH_SIZE = 500
# Between two batches: on SQLite each batch holds the one write lock, so a writer that was
# waiting gets it before the next batch does.
PAUSE_BETWEEN_BATCHES_S = 0.01


def prune_older_than(
    engine: Engine,
    *,
    key: InstrumentedAttribute[Any],
    stamp: InstrumentedAttribute[Any],
    oldest_first: InstrumentedAttribute[Any],
    cutoff: datetime,
    batch_size: int = BATCH_SIZE,
) -> int:
    """Delete the rows whose `stamp` is before `cutoff`, in `oldest_first` order, `batch_size`
    rows per transaction; returns how many were deleted. `key` identifies a row."""
    oldest = (
        select(key).where(stamp < cutoff).order_by(oldest_first).limit(batch_size).scalar_subquery()
    )
    # The cutoff again on the DELETE itself: a row refreshed meanwhile (a bucket whose window
    # an attempt just restarted) is checked anew by PostgreSQL and kept.
    statement = delete(key.class_).where(key.in_(oldest), stamp < cutoff)
    deleted = 0
    while True:
        with engine.connect() as conn:
            conn.execution_options(**{WRITE_OPTION: True})  # BEGIN IMMEDIATE on SQLite
            with conn.begin():
                count = conn.execute(statement).rowcount
        deleted += count
        if count < batch_size:
            return deleted
        time.sleep(PAUSE_BETWEEN_BATCHES_S)


def prune_expired(
    engine: Engine, settings: Settings, *, idempotency_older_than: timedelta | None = None
) -> dict[str, int]:
    """Prune both tables; `idempotency_older_than` overrides the retention setting."""
    now = utcnow()
    keep_keys = (
        timedelta(hours=settings.idempotency_retention_hours)
        if idempotency_older_than is None
        else idempotency_older_than
    )
    window = timedelta(seconds=settings.lookup_failure_window_seconds)
    counts = {
        # Records are inserted in time order, so the oldest have the lowest ids: each batch
        # finds its rows at the start of the primary key, with no index on created_at.
        "idempotency_records": prune_older_than(
            engine,
            key=IdempotencyRecord.id,
            stamp=IdempotencyRecord.created_at,
            oldest_first=IdempotencyRecord.id,
            cutoff=_before(now, keep_keys),
        ),
        "verification_buckets": prune_older_than(
            engine,
            key=VerificationBucket.key,
            stamp=VerificationBucket.window_started_at,
            oldest_first=VerificationBucket.window_started_at,
            cutoff=_before(now, window),
        ),
    }
    for table, count in counts.items():
        metrics.records_pruned(table, count)
    if any(counts.values()):
        log.info(
            "pruned %d idempotency records and %d expired verification buckets",
            counts["idempotency_records"],
            counts["verification_buckets"],
        )
    return counts


def _before(now: datetime, age: timedelta) -> datetime:
    try:
        return now - age
    except OverflowError:  # older than the calendar goes: nothing is that old
        return datetime.min.replace(tzinfo=UTC)


async def prune_periodically(engine: Engine, settings: Settings) -> None:
    """Prune every `prune_interval_seconds` until cancelled; a failure (the database is
    away) is logged and the next round tries again."""
    while True:
        await asyncio.sleep(settings.prune_interval_seconds)
        try:
            await asyncio.to_thread(prune_expired, engine, settings)
        except Exception as exc:  # noqa: BLE001 - pruning must not stop for one bad round
            log.warning("pruning failed (%s); next try in %.0f s", type(exc).__name__,
                        settings.prune_interval_seconds)  # fmt: skip
