from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from api.ops.audit.models import AuditEntry


def record(
    *,
    db_session: Session,
    entity_type: str,
    entity_id: str,
    action: str,
    actor: str,
    from_state: str | None = None,
    to_state: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one audit entry to the caller's transaction."""
    entry = AuditEntry(
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        actor=actor,
        from_state=from_state,
        to_state=to_state,
        detail=detail,
    )
    db_session.add(entry)
    return entry
