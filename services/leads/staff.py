"""Staff access to leads: list, read, update, export and erase, each one audited."""

import csv
import io
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, or_
from sqlmodel import Session, col, select

from core.crypto import KeyRing
from core.errors import ConflictError, ValidationFailedError
from db.lead_models import ConsultationRequest, IdempotencyRecord, LeadTerm
from db.models import as_utc, utcnow
from schemas.leads import (
    LEAD_CURSOR_PATTERN,
    ConsultationRequestPublic,
    ConsultationRequestState,
    ConsultationRequestUpdate,
)
from schemas.vocabulary import AuditAction, Channel, HiddenLeads, LeadStatus, TermKind
from services.access import audit
from services.leads import events, vault
from services.leads.vault import Personal
from services.records import get_or_not_found

S = LeadStatus
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
EXPORT_PAGE = 500  # leads read (and opened) per short session of an export
# Forward moves only; any open lead may be marked spam.
TRANSITIONS: dict[LeadStatus, set[LeadStatus]] = {
    S.NEW: {S.CONTACTED, S.SCHEDULED, S.CLOSED, S.SPAM},
    S.CONTACTED: {S.SCHEDULED, S.CLOSED, S.SPAM},
    S.SCHEDULED: {S.CLOSED, S.SPAM},
    S.CLOSED: {S.SPAM},
    S.SPAM: set(),
}
CSV_COLUMNS = (
    "id",
    "created_at",
    "status",
    "first_name",
    "last_name",
    "email",
    "phone",
    "preferred_contact_method",
    "preferred_time",
    "therapies",
    "conditions",
    "message",
    "consent_sms",
    "consent_version",
    "consent_age_confirmed",
    "source_article_slug",
    "channel",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "unreadable",
)


@dataclass(frozen=True)
class LeadFilters:
    """Filters for lists and exports; they hold no personal data, so they may be audited."""

    status: LeadStatus | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    therapy: str | None = None
    condition: str | None = None
    article: str | None = None
    channel: Channel | None = None
    email: str | None = None  # matched through the blind index; never audited or logged
    # Spam and erased leads are left out unless named here (or asked for: status=spam).
    include: frozenset[HiddenLeads] = frozenset()

    def audit_detail(self) -> dict[str, Any]:
        """The filters as JSON-safe values (an email filter only as `true`)."""
        return {
            k: (
                True
                if k == "email"
                else v.isoformat()
                if isinstance(v, datetime)
                else sorted(v)
                if isinstance(v, frozenset)
                else v
            )
            for k, v in asdict(self).items()
            if v is not None and v != frozenset()
        }


def encode_cursor(lead: ConsultationRequest) -> str:
    """A cursor pointing after `lead` in newest-first order: `<microseconds since the epoch>.<id
    as 32 hex digits>` (LEAD_CURSOR_PATTERN), so that every cursor of that form is a position."""
    return f"{(as_utc(lead.created_at) - _EPOCH) // _MICROSECOND}.{lead.id.hex}"


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """Parse a cursor; one of another form fails validation on `cursor`."""
    if not re.fullmatch(LEAD_CURSOR_PATTERN, cursor):
        raise _invalid_cursor()
    micros, lead_id = cursor.split(".")
    return _EPOCH + int(micros) * _MICROSECOND, uuid.UUID(hex=lead_id)


def _invalid_cursor() -> ValidationFailedError:
    return ValidationFailedError(
        [{"field": "cursor", "type": "invalid_cursor", "message": "Invalid cursor."}]
    )


def _where(filters: LeadFilters, ring: KeyRing) -> list[Any]:
    lead = ConsultationRequest
    conditions: list[Any] = []
    if filters.email:
        indexes = vault.email_indexes(ring=ring, email=filters.email)
        conditions.append(col(lead.email_index).in_(indexes))
    if filters.status:
        conditions.append(col(lead.status) == filters.status)
    elif HiddenLeads.SPAM not in filters.include:
        conditions.append(col(lead.status) != LeadStatus.SPAM)
    if HiddenLeads.ERASED not in filters.include:
        conditions.append(col(lead.erased_at).is_(None))
    if filters.created_after:
        conditions.append(col(lead.created_at) >= filters.created_after)
    if filters.created_before:
        conditions.append(col(lead.created_at) < filters.created_before)
    if filters.channel:
        conditions.append(col(lead.channel) == filters.channel)
    if filters.article:
        conditions.append(col(lead.source_article_slug) == filters.article)
    for kind, slug in (
        (TermKind.THERAPY, filters.therapy),
        (TermKind.CONDITION, filters.condition),
    ):
        if slug:
            conditions.append(
                exists().where(
                    col(LeadTerm.lead_id) == col(lead.id),
                    col(LeadTerm.kind) == kind,
                    col(LeadTerm.slug) == slug,
                )
            )
    return conditions


def to_public(lead: ConsultationRequest, personal: Personal) -> ConsultationRequestPublic:
    """The staff view: the row with its opened personal data (all null once erased)."""
    return ConsultationRequestPublic.model_validate(
        {
            **lead.model_dump(exclude={"sealed", "email_index"}),
            **{
                k: v
                for k, v in asdict(personal).items()
                if k not in ("page_url", "referrer", "utm")
            },
            "source_page_url": personal.page_url,
            "source_referrer": personal.referrer,
            "utm": personal.utm or {},
            "unreadable": isinstance(personal, vault.Unreadable),
        }
    )


def to_state(lead: ConsultationRequest) -> ConsultationRequestState:
    """The lead's state alone, for a caller that may not read its personal data."""
    return ConsultationRequestState(
        id=lead.id,
        created_at=lead.created_at,
        updated_at=lead.updated_at,
        status=LeadStatus(lead.status),
        erased_at=lead.erased_at,
    )


def _public_many(
    session: Session, ring: KeyRing, leads: list[ConsultationRequest]
) -> list[ConsultationRequestPublic]:
    opened = vault.open_many(session=session, ring=ring, leads=leads)
    return [to_public(lead, opened[lead.id]) for lead in leads]


def list_leads(
    *,
    session: Session,
    ring: KeyRing,
    actor: uuid.UUID,
    filters: LeadFilters,
    cursor: str | None,
    page_size: int,
) -> tuple[list[ConsultationRequestPublic], str | None]:
    """A page of leads, newest first, and the next cursor; audited with its filters."""
    after = decode_cursor(cursor) if cursor else None
    rows = _newest_first(session, _where(filters, ring), after, page_size + 1)
    more = len(rows) > page_size
    rows = rows[:page_size]
    audit.record(
        session=session,
        actor=actor,
        action=AuditAction.LEAD_LIST,
        detail={"filters": filters.audit_detail(), "count": len(rows)},
    )
    next_cursor = encode_cursor(rows[-1]) if more and rows else None
    return _public_many(session, ring, rows), next_cursor


def _newest_first(
    session: Session,
    conditions: list[Any],
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[ConsultationRequest]:
    """Up to `limit` matching leads, newest first, after the position `after` (a cursor's)."""
    lead = ConsultationRequest
    if after is not None:
        created, lead_id = after
        conditions = [
            *conditions,
            or_(
                col(lead.created_at) < created,
                and_(col(lead.created_at) == created, col(lead.id) < lead_id),
            ),
        ]
    return list(
        session.exec(
            select(lead)
            .where(*conditions)
            .order_by(col(lead.created_at).desc(), col(lead.id).desc())
            .limit(limit)
        )
    )


def _load(session: Session, lead_id: uuid.UUID) -> ConsultationRequest:
    return get_or_not_found(
        session,
        ConsultationRequest,
        lead_id,
        code="consultation_request_not_found",
        what="consultation request",
    )


def get_lead(
    *, session: Session, ring: KeyRing, actor: uuid.UUID, lead_id: uuid.UUID
) -> ConsultationRequestPublic:
    """One lead; audited."""
    lead = _load(session, lead_id)
    audit.record(session=session, actor=actor, action=AuditAction.LEAD_READ, lead_id=lead.id)
    return _public_many(session, ring, [lead])[0]


def update_lead(
    *,
    session: Session,
    ring: KeyRing,
    actor: uuid.UUID | None,
    lead_id: uuid.UUID,
    change: ConsultationRequestUpdate,
    reveal: bool,
    action: AuditAction = AuditAction.LEAD_UPDATE,
) -> ConsultationRequestPublic | ConsultationRequestState:
    """Change status (forward only, or spam) and/or notes; audited. The answer is the staff
    view only when `reveal` (the caller may read leads), else the lead's state alone; the
    audit entry says which (`personal_data_returned`)."""
    lead = _load(session, lead_id)
    if lead.erased_at is not None:
        raise ConflictError(
            "This consultation request was erased.", code="consultation_request_erased"
        )
    personal = vault.open_one(session=session, ring=ring, lead=lead)
    if isinstance(personal, vault.Unreadable):  # re-sealing would overwrite what is left
        raise ConflictError(
            "This consultation request's personal data cannot be opened; it can only be erased.",
            code="consultation_request_unreadable",
        )
    changed: dict[str, Any] = {}
    if change.status is not None and change.status != lead.status:
        if change.status not in TRANSITIONS[LeadStatus(lead.status)]:
            raise ConflictError(
                f"Cannot move a lead from '{lead.status}' to '{change.status}'.",
                code="invalid_status_transition",
            )
        changed["status"] = {"from": lead.status, "to": change.status}
        lead.status = change.status
    if change.notes is not None and change.notes != personal.notes:
        personal = replace(personal, notes=change.notes)
        vault.reseal(session=session, ring=ring, lead=lead, personal=personal)
        changed["notes"] = True  # that they changed, never what they say
    if changed:
        lead.updated_at = utcnow()
        session.add(lead)
        _emit_updated(session, ring, lead, personal)
    audit.record(
        session=session,
        actor=actor,
        action=action,
        lead_id=lead.id,
        detail={**changed, "personal_data_returned": reveal},
    )
    return to_public(lead, personal) if reveal else to_state(lead)


def erase_lead(*, session: Session, ring: KeyRing, actor: uuid.UUID, lead_id: uuid.UUID) -> None:
    """Destroy the lead's data key (its sealed personal data and events can never be opened
    again), clear its health interests, keep a tombstone (id, times, status); audited."""
    lead = _load(session, lead_id)
    if lead.erased_at is None:
        vault.shred(session=session, lead=lead)
        lead.consent_text, lead.source_article_slug = None, None
        lead.therapies, lead.conditions = [], []
        lead.disclaimer_versions, lead.disclaimers_reported = [], []
        lead.erased_at = lead.updated_at = utcnow()
        session.add(lead)
        session.execute(delete(LeadTerm).where(col(LeadTerm.lead_id) == lead.id))
        # Its Idempotency-Key record fingerprints the request body, personal data included.
        session.execute(delete(IdempotencyRecord).where(col(IdempotencyRecord.lead_id) == lead.id))
        events.scrub(session=session, lead_id=str(lead.id))
        _emit_updated(session, ring, lead, vault.ERASED)
    audit.record(session=session, actor=actor, action=AuditAction.LEAD_ERASE, lead_id=lead.id)


def _emit_updated(
    session: Session, ring: KeyRing, lead: ConsultationRequest, personal: Personal
) -> None:
    events.emit_lead_updated(session=session, ring=ring, lead=lead, personal=personal)


_E164 = re.compile(r"\+[1-9][0-9]{1,14}")


def _csv_safe(value: Any) -> str:
    """Render a cell; text that a spreadsheet would run as a formula is quoted."""
    if value is None:
        return ""
    if isinstance(value, list):
        value = ";".join(value)
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    if _E164.fullmatch(text):
        return text  # a phone number as stored: a spreadsheet reads it, it runs nothing
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def audit_export(
    *, session: Session, actor: uuid.UUID | None, filters: LeadFilters, via: str
) -> None:
    """Record an export before its first line is read."""
    audit.record(
        session=session,
        actor=actor,
        action=AuditAction.LEAD_EXPORT,
        detail={"filters": filters.audit_detail(), "via": via},
    )


def csv_lines(
    *,
    sessions: Callable[[], AbstractContextManager[Session]],
    ring: KeyRing,
    filters: LeadFilters,
) -> Iterator[str]:
    """The matching leads as CSV text, a header and then one line per lead. Each page is read
    in a short session of its own (`sessions()`), closed before its lines are handed on, so
    that a slow reader of the export holds no transaction open."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    yield flush()
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        with sessions() as session:
            rows = _newest_first(session, _where(filters, ring), after, EXPORT_PAGE)
            page = _public_many(session, ring, rows)
        for row in page:
            values = {
                **row.model_dump(),
                **{k: row.utm.get(k) for k in ("utm_source", "utm_medium", "utm_campaign")},
                "unreadable": "true" if row.unreadable else None,  # a marked row, not a gap
            }
            writer.writerow([_csv_safe(values.get(c)) for c in CSV_COLUMNS])
            yield flush()
        if len(rows) < EXPORT_PAGE:
            return
        after = decode_cursor(encode_cursor(rows[-1]))
