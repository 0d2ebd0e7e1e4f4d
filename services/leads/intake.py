"""Consultation request intake: validate, snapshot consent and disclaimers, store once."""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from core.crypto import KeyRing
from core.errors import DomainError, ValidationFailedError
from db.lead_models import ConsultationRequest, LeadKey, LeadTerm
from db.models import utcnow
from schemas.leads import ConsultationRequestCreate
from schemas.vocabulary import LeadStatus, TermKind
from services.events import outbox
from services.leads import idempotency, vault
from services.leads.catalog import CatalogSnapshot, IntakeCatalog
from services.leads.checks import SubmissionContext as SubmissionContext  # part of the intake's API
from services.leads.checks import check
from services.leads.events import lead_created_row
from services.leads.vault import Personal, SealedLead, normalize_email


@dataclass(frozen=True)
class IntakeResult:
    """The stored lead (new, or the one an Idempotency-Key replays)."""

    lead_id: uuid.UUID
    created_at: datetime
    replayed: bool


@dataclass(frozen=True)
class Submission:
    """One admitted consultation request to store: its valid body, what its HTTP request
    says, and its Idempotency-Key."""

    data: ConsultationRequestCreate
    ctx: SubmissionContext
    idempotency_key: str | None = None


SubmissionOutcome = IntakeResult | DomainError


@dataclass(frozen=True)
class _NewLead:
    """A checked and sealed lead, as the rows that store it."""

    sealed: SealedLead
    terms: list[dict[str, Any]]
    event: dict[str, Any] | None  # None for spam: nobody is told of it


def _new_lead(
    *,
    session: Session,
    ring: KeyRing,
    data: ConsultationRequestCreate,
    values: Mapping[str, Any],
    ctx: SubmissionContext,
    lead_id: uuid.UUID,
    now: datetime,
    known: CatalogSnapshot,
) -> _NewLead:
    """Check a submission (`data`, dumped in JSON mode as `values`) against the content and
    seal it; raises ValidationFailedError. Reads only: `_write` stores what this builds."""
    checked = check(session, values, ctx, known)
    if checked.errors:
        raise ValidationFailedError(checked.errors)
    source = data.source
    utm = {k: v for k, v in values["source"].items() if k.startswith("utm_") and v}
    therapies = list(dict.fromkeys(data.therapies))
    conditions = list(dict.fromkeys(data.conditions))
    # The row as stored, built as a dict: an ORM object cost more than the rest of the lead.
    lead: dict[str, Any] = {
        "id": lead_id,
        "created_at": now,
        "updated_at": now,
        "status": LeadStatus.SPAM if data.website else LeadStatus.NEW,
        "sealed": None,
        "email_index": None,
        "preferred_contact_method": data.preferred_contact_method,
        "therapies": therapies,
        "conditions": conditions,
        "consent_contact": True,
        "consent_sms": data.consent.sms,
        "consent_age_confirmed": True,  # the schema takes nothing else
        "consent_version": data.consent.consent_version,
        "consent_text": checked.consent_text,
        "consent_at": now,
        "source_article_slug": source.article_slug,
        "channel": source.channel,
        "disclaimer_versions": checked.shown,
        "disclaimers_reported": values["source"]["disclaimers_shown"],
        "erased_at": None,
    }
    personal = Personal(
        first_name=data.first_name,
        last_name=data.last_name,
        email=normalize_email(str(data.email)),
        phone=checked.phone,
        preferred_time=data.preferred_time or None,
        message=data.message or None,
        client_ip=ctx.client_ip,
        user_agent=(ctx.user_agent or "")[:500] or None,
        page_url=source.page_url or None,
        referrer=source.referrer or None,
        utm=utm or None,
    )
    sealed = vault.seal_new(ring=ring, lead=lead, personal=personal)
    terms = [{"lead_id": lead_id, "kind": TermKind.THERAPY, "slug": s} for s in therapies]
    terms += [{"lead_id": lead_id, "kind": TermKind.CONDITION, "slug": s} for s in conditions]
    event = None
    if lead["status"] != LeadStatus.SPAM:
        event = lead_created_row(
            lead=sealed.lead_row,
            personal=personal,
            data_key=sealed.data_key,
            request_id=ctx.request_id,
        )
    return _NewLead(sealed, terms, event)


def _write(session: Session, new: Sequence[_NewLead]) -> None:
    """Insert new leads: one statement per table for all of them, the rows a foreign key
    names first."""
    if not new:
        return
    session.execute(insert(ConsultationRequest), [n.sealed.lead_row for n in new])
    session.execute(insert(LeadKey), [n.sealed.key_row for n in new])
    terms = [term for n in new for term in n.terms]
    if terms:
        session.execute(insert(LeadTerm), terms)
    outbox.emit_rows(session=session, events=[n.event for n in new if n.event is not None])


def create_lead(
    *,
    session: Session,
    ring: KeyRing,
    data: ConsultationRequestCreate,
    ctx: SubmissionContext,
    lead_id: uuid.UUID | None = None,
    now: datetime | None = None,
    catalog: IntakeCatalog | None = None,
) -> ConsultationRequest:
    """Validate a lead and write it in the session's transaction, with no Idempotency-Key; a
    filled honeypot stores it as spam. `catalog` is the app's (a fresh one loads what this
    lead needs). The lead comes back as written, not tracked by the session: a change to it
    is not stored (change a lead through `services.leads.staff`)."""
    new = _new_lead(
        session=session,
        ring=ring,
        data=data,
        values=data.model_dump(mode="json"),
        ctx=ctx,
        lead_id=lead_id or uuid.uuid4(),
        now=now or utcnow(),
        known=(catalog or IntakeCatalog()).current(session),
    )
    _write(session, [new])
    return ConsultationRequest(**new.sealed.lead_row)


def _replayed(session: Session, lead_id: uuid.UUID) -> IntakeResult:
    first = session.get_one(ConsultationRequest, lead_id)
    return IntakeResult(first.id, first.created_at.astimezone(UTC), replayed=True)


def intake(
    *,
    session: Session,
    ring: KeyRing,
    data: ConsultationRequestCreate,
    ctx: SubmissionContext,
    idempotency_key: str | None,
    idempotency_ttl: timedelta,
    catalog: IntakeCatalog | None = None,
) -> IntakeResult:
    """`intake_many` for one submission: its result, or its DomainError raised."""
    (outcome,) = intake_many(
        session=session,
        ring=ring,
        submissions=[Submission(data, ctx, idempotency_key)],
        idempotency_ttl=idempotency_ttl,
        catalog=catalog,
    )
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome


@dataclass(frozen=True)
class _Follows:
    """A submission whose key an earlier one in the same call claims: it replays that one."""

    index: int


def intake_many(
    *,
    session: Session,
    ring: KeyRing,
    submissions: Sequence[Submission],
    idempotency_ttl: timedelta,
    catalog: IntakeCatalog | None = None,
) -> list[SubmissionOutcome]:
    """Store each submission once per Idempotency-Key, all in the caller's transaction, or
    name the lead that an earlier request with the same key and body created. Returns one
    outcome per submission, in order: its result, or the DomainError that refuses it alone
    (invalid, or key reused with another body). Anything else raised aborts the whole
    transaction. Submissions come admitted (the rate limit is charged before the unit of work,
    `services.leads.admission` telling a retry from a new request).

    Retries are found by one read first. A retry racing the first request (not yet committed
    when read) meets the first's claim and is replayed; one in the same call follows the
    first. Each table gets one insert for all the leads (a group commit costs little more
    than one lead)."""
    keys = {s.idempotency_key for s in submissions if s.idempotency_key is not None}
    batch = _Batch(
        session=session,
        ring=ring,
        ttl=idempotency_ttl,
        known=(catalog or IntakeCatalog()).current(session),
        records=idempotency.stored_many(session=session, keys=keys),
    )
    for submission in submissions:
        try:
            batch.outcomes.append(batch.take(submission))
        except DomainError as refused:
            batch.outcomes.append(refused)
    batch.claim()
    _write(session, [o for o in batch.outcomes if isinstance(o, _NewLead)])
    return [batch.settled(index) for index in range(len(submissions))]


@dataclass
class _Batch:
    """The submissions of one `intake_many` call, as they are taken in order."""

    session: Session
    ring: KeyRing
    ttl: timedelta
    known: CatalogSnapshot
    records: Mapping[str, idempotency.Record]
    now: datetime = field(default_factory=utcnow)
    outcomes: list[SubmissionOutcome | _NewLead | _Follows] = field(default_factory=list)
    # key → (index, fingerprint) of the new leads taken
    claimed: dict[str, tuple[int, idempotency.Fingerprint]] = field(default_factory=dict)

    def take(self, submission: Submission) -> SubmissionOutcome | _NewLead | _Follows:
        """What becomes of the next submission, before any key is claimed."""
        values = submission.data.model_dump(mode="json")
        key = submission.idempotency_key
        digest = None
        if key is not None:
            digest = idempotency.fingerprint(ring=self.ring, payload=values)
            if key in self.claimed:
                first, first_digest = self.claimed[key]
                if first_digest.value != digest.value:
                    raise idempotency.IdempotencyKeyReusedError()
                return _Follows(first)
            record = self.records.get(key)
            if record is not None and record.replays(digest=digest, now=self.now, ttl=self.ttl):
                return IntakeResult(record.lead_id, record.created_at.astimezone(UTC), True)
        new = _new_lead(
            session=self.session,
            ring=self.ring,
            data=submission.data,
            values=values,
            ctx=submission.ctx,
            lead_id=uuid.uuid4(),
            now=self.now,
            known=self.known,
        )
        if key is not None and digest is not None:
            self.claimed[key] = (len(self.outcomes), digest)
        return new

    def claim(self) -> None:
        """Claim the keys of the new leads, in key order (two transactions claiming the same
        keys then wait for each other, never deadlock); a lead whose key another holds
        becomes that one's replay, or the refusal of its key."""
        new = sorted(self.claimed.items())
        taken = idempotency.claim_many(
            session=self.session,
            claims=[(key, fp.value, _lead_id(self.outcomes[i])) for key, (i, fp) in new],
            now=self.now,
        )
        for key, (index, digest) in new:
            if key in taken:
                continue
            # Held by another lead, maybe expired: the one-key claim settles it.
            try:
                earlier = idempotency.claim(
                    session=self.session,
                    key=key,
                    digest=digest,
                    lead_id=_lead_id(self.outcomes[index]),
                    now=self.now,
                    ttl=self.ttl,
                )
            except idempotency.IdempotencyKeyReusedError as refused:
                self.outcomes[index] = refused
                continue
            if earlier is not None:
                self.outcomes[index] = _replayed(self.session, earlier)

    def settled(self, index: int) -> SubmissionOutcome:
        """The outcome of submission `index` once the keys are claimed."""
        outcome = self.outcomes[index]
        if isinstance(outcome, _Follows):
            first = self.settled(outcome.index)
            if isinstance(first, IntakeResult):
                return IntakeResult(first.lead_id, first.created_at, replayed=True)
            return first
        if isinstance(outcome, _NewLead):
            row = outcome.sealed.lead_row
            return IntakeResult(row["id"], row["created_at"], replayed=False)
        return outcome


def _lead_id(outcome: object) -> uuid.UUID:
    assert isinstance(outcome, _NewLead)
    lead_id: uuid.UUID = outcome.sealed.lead_row["id"]
    return lead_id
