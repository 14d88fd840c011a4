"""Deleting rows that have outlived their use, in small batches so writers never wait long.

- Idempotency records, after `OPSDESK_IDEMPOTENCY_RETENTION_HOURS` (default 24): a retry
  with the same key after that creates anew.
- Failed customer verifications, after the failure window (`OPSDESK_LOOKUP_FAILURE_WINDOW_
  SECONDS`): older ones no longer count towards the limit, and nothing else reads them.

The api process prunes every `OPSDESK_PRUNE_INTERVAL_SECONDS` (default 600); `opsdesk prune`
does the same once, from the command line.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from api import metrics
from api.db import WRITE_OPTION, utcnow
from api.ops.common.idempotency import IdempotencyRecord
from api.ops.orders.models import VerificationFailure
from api.settings import Settings

log = logging.getLogger("opsdesk.retention")

BATCH_SIZE = 500
# Between two batches: on SQLite each batch holds the one write lock, so a writer that was
# waiting gets it before the next batch does.
PAUSE_BETWEEN_BATCHES_S = 0.01


def prune_older_than(
    engine: Engine,
    model: type[IdempotencyRecord] | type[VerificationFailure],
    cutoff: datetime,
    *,
    batch_size: int = BATCH_SIZE,
) -> int:
    """Delete the rows of `model`'s table created before `cutoff`, oldest first,
    `batch_size` rows per transaction; returns how many were deleted."""
    # Rows are inserted in time order, so the oldest have the lowest ids: each batch finds
    # its rows at the start of the primary key, with no index on created_at.
    oldest = (
        select(model.id)
        .where(model.created_at < cutoff)
        .order_by(model.id)
        .limit(batch_size)
        .scalar_subquery()
    )
    statement = delete(model).where(model.id.in_(oldest))
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
    keep_failures = timedelta(seconds=settings.lookup_failure_window_seconds)
    counts = {
        "idempotency_records": prune_older_than(engine, IdempotencyRecord, _before(now, keep_keys)),
        "verification_failures": prune_older_than(
            engine, VerificationFailure, _before(now, keep_failures)
        ),
    }
    for table, count in counts.items():
        metrics.records_pruned(table, count)
    if any(counts.values()):
        log.info(
            "pruned %d idempotency records and %d verification failures",
            counts["idempotency_records"],
            counts["verification_failures"],
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
