"""Consultation request intake: validate, snapshot consent and disclaimers, store once."""

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import phonenumbers
from sqlalchemy import insert
from sqlmodel import Session

from core.crypto import KeyRing
from core.errors import ValidationFailedError
from db.lead_models import ConsultationRequest, LeadTerm
from db.models import utcnow
from schemas.leads import ConsultationRequestCreate
from schemas.vocabulary import ContactMethod, LeadStatus, TermKind
from services import idempotency, lead_vault
from services.intake_catalog import IntakeCatalog
from services.lead_vault import Personal, normalise_email
from services.webhooks import outbox


@dataclass(frozen=True)
class SubmissionContext:
    """Facts about the HTTP request that the lead records."""

    client_ip: str | None
    user_agent: str | None
    default_region: str
    default_locale: str


@dataclass(frozen=True)
class IntakeResult:
    """The stored lead (new, or the one an Idempotency-Key replays)."""

    lead_id: uuid.UUID
    created_at: datetime
    replayed: bool


def _error(field: str, type_: str, message: str) -> dict[str, str]:
    return {"field": field, "type": type_, "message": message}


def normalize_phone(raw: str, region: str) -> tuple[str | None, dict[str, str] | None]:
    """The number in E.164, or the problem with it: not a valid phone number, or one with an
    extension, which E.164 (what staff, exports and the CRM get) cannot hold: refused rather
    than dropped."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        return None, _error("phone", "invalid_phone", "Not a valid phone number.")
    if number.extension:  # told only of a valid number: one round trip fixes both
        return None, _error(
            "phone",
            "phone_extension",
            "Give a number without an extension (put the extension in the message).",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


@dataclass(frozen=True)
class _Checked:
    """What the database and settings say of a submission."""

    errors: list[dict[str, str]]
    phone: str | None = None
    consent_text: str = ""
    shown: list[dict[str, object]] = field(default_factory=list)


def _check(
    session: Session, values: Mapping[str, Any], ctx: SubmissionContext, catalog: IntakeCatalog
) -> _Checked:
    """The checks that need the content or settings, over a submission's valid fields.

    `values` is a whole valid submission (dumped in JSON mode) or the parts of an invalid one
    that passed the schema (`schemas.partial.valid_parts`): a field left out failed the schema,
    which reports it, so nothing here looks at it."""
    known = catalog.current(session)
    errors: list[dict[str, str]] = []
    consent_in: Mapping[str, Any] = values.get("consent", {})
    source: Mapping[str, Any] = values.get("source", {})
    method = values.get("preferred_contact_method")
    phone = None
    if "phone" in values:
        raw_phone = values["phone"]
        problem = None
        if raw_phone is not None:
            phone, problem = normalize_phone(raw_phone, ctx.default_region)
        if problem is not None:
            errors.append(problem)
        elif phone is None and method is not None and method != ContactMethod.EMAIL:
            errors.append(
                _error(
                    "phone",
                    "phone_required",
                    f"A phone number is needed to be contacted by {method}.",
                )
            )
    if method == ContactMethod.SMS and consent_in.get("sms") is False:
        errors.append(
            _error("consent.sms", "sms_consent_required", "Contact by SMS needs the SMS opt-in.")
        )
    wording = None
    if "consent_version" in consent_in and "locale" in consent_in:
        wording = known.consent(
            consent_in["consent_version"],
            locale=consent_in["locale"] or ctx.default_locale,
            default_locale=ctx.default_locale,
        )
        if wording is None:
            errors.append(
                _error(
                    "consent.consent_version",
                    "unknown_consent_version",
                    "No consent text has this version in this locale.",
                )
            )
    for name, noun, slugs_known in (
        ("therapies", "therapy", known.therapies),
        ("conditions", "condition", known.conditions),
    ):
        slugs: list[str] = values.get(name, [])
        for index, slug in enumerate(slugs):
            if slug not in slugs_known:
                errors.append(_error(f"{name}.{index}", f"unknown_{noun}", f"Unknown {noun} slug."))
    shown: list[dict[str, object]] = []
    if source.get("article_slug") and "locale" in source:
        found = known.disclaimers_shown(
            session,
            slug=source["article_slug"],
            locale=source["locale"] or consent_in.get("locale") or ctx.default_locale,
        )
        if found is None:
            errors.append(
                _error(
                    "source.article_slug",
                    "unknown_article",
                    "No published article has this slug.",
                )
            )
        shown = list(found or [])
    errors += _unknown_disclaimers(known.disclaimer_versions, source.get("disclaimers_shown", []))
    text = ""
    if wording is not None:
        text = wording.text + ("\n\n" + wording.sms_text if consent_in.get("sms") else "")
    return _Checked(errors, phone, text, shown)


def field_errors(
    *,
    session: Session,
    parts: Mapping[str, Any],
    ctx: SubmissionContext,
    catalog: IntakeCatalog | None = None,
) -> list[dict[str, str]]:
    """The problems the content finds in the valid parts of a submission that failed its
    schema, to be answered with the schema's own in one 422."""
    return _check(session, parts, ctx, catalog or IntakeCatalog()).errors


def _unknown_disclaimers(
    known: frozenset[tuple[str, int]], reported: list[Mapping[str, Any] | None]
) -> list[dict[str, str]]:
    given = [(index, d["key"], d["version"]) for index, d in enumerate(reported) if d]
    return [
        _error(
            f"source.disclaimers_shown.{index}",
            "unknown_disclaimer_version",
            "No disclaimer has this key and version.",
        )
        for index, key, version in given
        if (key, version) not in known
    ]


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
    """Validate a lead and write it in the session's transaction; a filled honeypot stores it
    as spam. `catalog` is the app's (a fresh one loads what this lead needs). The lead comes
    back as written, not tracked by the session: a change to it is not stored (change a lead
    through `services.lead_admin`)."""
    return _add_lead(
        session=session,
        ring=ring,
        data=data,
        values=data.model_dump(mode="json"),
        ctx=ctx,
        lead_id=lead_id or uuid.uuid4(),
        now=now or utcnow(),
        catalog=catalog or IntakeCatalog(),
    )


def _add_lead(
    *,
    session: Session,
    ring: KeyRing,
    data: ConsultationRequestCreate,
    values: Mapping[str, Any],
    ctx: SubmissionContext,
    lead_id: uuid.UUID,
    now: datetime,
    catalog: IntakeCatalog,
) -> ConsultationRequest:
    """`create_lead`, given `data` dumped in JSON mode as `values` (dumped once per lead)."""
    checked = _check(session, values, ctx, catalog)
    if checked.errors:
        raise ValidationFailedError(checked.errors)
    source = data.source
    utm = {k: v for k, v in values["source"].items() if k.startswith("utm_") and v}
    lead = ConsultationRequest(
        id=lead_id,
        created_at=now,
        updated_at=now,
        status=LeadStatus.SPAM if data.website else LeadStatus.NEW,
        preferred_contact_method=data.preferred_contact_method,
        therapies=list(dict.fromkeys(data.therapies)),
        conditions=list(dict.fromkeys(data.conditions)),
        consent_contact=True,
        consent_sms=data.consent.sms,
        consent_version=data.consent.consent_version,
        consent_text=checked.consent_text,
        consent_at=now,
        source_article_slug=source.article_slug,
        utm=utm,
        channel=source.channel,
        disclaimer_versions=checked.shown,
        disclaimers_reported=values["source"]["disclaimers_shown"],
    )
    personal = Personal(
        first_name=data.first_name,
        last_name=data.last_name,
        email=normalise_email(str(data.email)),
        phone=checked.phone,
        preferred_time=data.preferred_time or None,
        message=data.message or None,
        client_ip=ctx.client_ip,
        user_agent=(ctx.user_agent or "")[:500] or None,
        page_url=source.page_url or None,
        referrer=source.referrer or None,
    )
    lead_vault.seal_new(session=session, ring=ring, lead=lead, personal=personal)
    terms = [{"lead_id": lead.id, "kind": TermKind.THERAPY, "slug": s} for s in lead.therapies]
    terms += [{"lead_id": lead.id, "kind": TermKind.CONDITION, "slug": s} for s in lead.conditions]
    if terms:  # one bulk insert, no ORM objects: nothing reads them back in this transaction
        session.execute(insert(LeadTerm), terms)
    if lead.status != LeadStatus.SPAM:
        outbox.emit_lead_change(
            session=session, ring=ring, lead=lead, personal=personal, created=True
        )
    return lead


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
    admit: Callable[[], None] | None = None,
) -> IntakeResult:
    """Store a lead once per Idempotency-Key, in the caller's transaction, or name the lead
    that an earlier request with the same key and body created.

    A retry is found by a read first. Only a new request reaches `admit` (the API charges the
    rate limit there, so a retry never uses it up), before anything is written: what `admit`
    raises aborts the unit of work with nothing to undo. A retry racing the first request
    (not yet committed when read) is admitted like a new one, then waits at the claim and is
    replayed; over the limit, it is refused instead (its client retries later)."""
    lead_id, now, values = uuid.uuid4(), utcnow(), data.model_dump(mode="json")
    digest = idempotency.fingerprint(values) if idempotency_key is not None else ""
    if idempotency_key is not None:
        earlier = idempotency.stored(
            session=session, key=idempotency_key, digest=digest, now=now, ttl=idempotency_ttl
        )
        if earlier is not None:
            return _replayed(session, earlier)
    if admit is not None:
        admit()
    if idempotency_key is not None:
        earlier = idempotency.claim(
            session=session,
            key=idempotency_key,
            digest=digest,
            lead_id=lead_id,
            now=now,
            ttl=idempotency_ttl,
        )
        if earlier is not None:
            return _replayed(session, earlier)
    lead = _add_lead(
        session=session,
        ring=ring,
        data=data,
        values=values,
        ctx=ctx,
        lead_id=lead_id,
        now=now,
        catalog=catalog or IntakeCatalog(),
    )
    return IntakeResult(lead.id, lead.created_at, replayed=False)
