"""The audit trail of every read or change of leads: ids and filters, never personal data."""

import uuid
from typing import Any

from sqlmodel import Session, col, select

from db.lead_models import AuditEntry
from schemas.leads import AuditEntryPublic
from schemas.vocabulary import AuditAction
from services.cursors import decode_id, encode_id


def record(
    *,
    session: Session,
    actor: uuid.UUID | None,
    action: AuditAction,
    lead_id: uuid.UUID | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add an audit entry to the current transaction."""
    session.add(AuditEntry(api_key_id=actor, action=action, lead_id=lead_id, detail=detail or {}))


AUDIT_ID_MAX = 2**31 - 1


def list_entries(
    *, session: Session, cursor: str | None, page_size: int, lead_id: uuid.UUID | None = None
) -> tuple[list[AuditEntryPublic], str | None]:
    """A page of entries, newest first, and the cursor of the next page (entries before the
    last of this one)."""
    stmt = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(page_size + 1)
    if cursor is not None:
        # Ids are 32-bit (the column's type): a cursor past them all starts at the newest.
        last = min(decode_id(cursor, field="cursor") - 1, AUDIT_ID_MAX)
        stmt = stmt.where(col(AuditEntry.id) <= last)
    if lead_id is not None:
        stmt = stmt.where(AuditEntry.lead_id == lead_id)
    rows = list(session.exec(stmt))
    more = len(rows) > page_size
    rows = rows[:page_size]
    items = [AuditEntryPublic.model_validate(r, from_attributes=True) for r in rows]
    return items, (encode_id(rows[-1].id) if more and rows and rows[-1].id else None)
