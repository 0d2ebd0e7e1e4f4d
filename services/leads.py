"""Consultation request intake: validate, snapshot consent and disclaimers, store once."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import phonenumbers
from sqlmodel import Session, col, select

from core.crypto import KeyRing
from core.errors import ValidationFailedError
from db.lead_models import ConsultationRequest, LeadTerm
from db.models import Condition, Disclaimer, Therapy, utcnow
from schemas.leads import ConsultationRequestCreate
from schemas.vocabulary import ContactMethod, LeadStatus, TermKind
from services import articles, consent, idempotency, lead_vault
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


def normalize_phone(raw: str, region: str) -> str | None:
    """The number in E.164, or None when it is not a valid phone number."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _known(session: Session, model: type[Therapy] | type[Condition], slugs: list[str]) -> set[str]:
    if not slugs:
        return set()
    return set(session.exec(select(model.slug).where(col(model.slug).in_(slugs))))


def _validate(
    session: Session, data: ConsultationRequestCreate, ctx: SubmissionContext
) -> tuple[str | None, str, list[dict[str, object]]]:
    """Checks that need the database or settings; raises one 422 listing every problem."""
    errors: list[dict[str, str]] = []
    phone = None if data.phone is None else normalize_phone(data.phone, ctx.default_region)
    if data.phone is not None and phone is None:
        errors.append(_error("phone", "invalid_phone", "Not a valid phone number."))
    elif phone is None and data.preferred_contact_method != ContactMethod.EMAIL:
        errors.append(
            _error(
                "phone",
                "phone_required",
                f"A phone number is needed to be contacted by {data.preferred_contact_method}.",
            )
        )
    if data.preferred_contact_method == ContactMethod.SMS and not data.consent.sms:
        errors.append(
            _error("consent.sms", "sms_consent_required", "Contact by SMS needs the SMS opt-in.")
        )
    consent_row = consent.find_version(
        session=session,
        version=data.consent.consent_version,
        locale=data.consent.locale or ctx.default_locale,
        default_locale=ctx.default_locale,
    )
    if consent_row is None:
        errors.append(
            _error(
                "consent.consent_version",
                "unknown_consent_version",
                "No consent text has this version in this locale.",
            )
        )
    for field, noun, model, slugs in (
        ("therapies", "therapy", Therapy, data.therapies),
        ("conditions", "condition", Condition, data.conditions),
    ):
        known = _known(session, model, slugs)
        for index, slug in enumerate(slugs):
            if slug not in known:
                errors.append(
                    _error(f"{field}.{index}", f"unknown_{noun}", f"Unknown {noun} slug.")
                )
    shown: list[dict[str, object]] = []
    if data.source.article_slug:
        found = articles.disclaimers_shown(
            session=session,
            slug=data.source.article_slug,
            locale=data.source.locale or ctx.default_locale,
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
    errors += _unknown_disclaimers(session, data)
    if errors:
        raise ValidationFailedError(errors)
    assert consent_row is not None
    return (
        phone,
        consent_row.text + ("\n\n" + consent_row.sms_text if data.consent.sms else ""),
        shown,
    )


def _unknown_disclaimers(session: Session, data: ConsultationRequestCreate) -> list[dict[str, str]]:
    reported = data.source.disclaimers_shown
    if not reported:
        return []
    known = set(
        session.exec(
            select(Disclaimer.key, Disclaimer.version).where(
                col(Disclaimer.key).in_({d.key for d in reported})
            )
        ).all()
    )
    return [
        _error(
            f"source.disclaimers_shown.{index}",
            "unknown_disclaimer_version",
            "No disclaimer has this key and version.",
        )
        for index, d in enumerate(reported)
        if (d.key, d.version) not in known
    ]


def create_lead(
    *,
    session: Session,
    ring: KeyRing,
    data: ConsultationRequestCreate,
    ctx: SubmissionContext,
    lead_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> ConsultationRequest:
    """Validate and add a lead to the session; a filled honeypot stores it as spam."""
    phone, consent_text, shown = _validate(session, data, ctx)
    now = now or utcnow()
    source = data.source
    utm = {k: v for k, v in source.model_dump().items() if k.startswith("utm_") and v}
    lead = ConsultationRequest(
        id=lead_id or uuid.uuid4(),
        created_at=now,
        updated_at=now,
        status=LeadStatus.SPAM if data.website else LeadStatus.NEW,
        preferred_contact_method=data.preferred_contact_method,
        therapies=list(dict.fromkeys(data.therapies)),
        conditions=list(dict.fromkeys(data.conditions)),
        consent_contact=True,
        consent_sms=data.consent.sms,
        consent_version=data.consent.consent_version,
        consent_text=consent_text,
        consent_at=now,
        source_article_slug=source.article_slug,
        utm=utm,
        channel=source.channel,
        disclaimer_versions=shown,
        disclaimers_reported=[d.model_dump() for d in source.disclaimers_shown],
    )
    personal = Personal(
        first_name=data.first_name,
        last_name=data.last_name,
        email=normalise_email(str(data.email)),
        phone=phone,
        preferred_time=data.preferred_time or None,
        message=data.message or None,
        client_ip=ctx.client_ip,
        user_agent=(ctx.user_agent or "")[:500] or None,
        page_url=source.page_url or None,
        referrer=source.referrer or None,
    )
    lead_vault.seal_new(session=session, ring=ring, lead=lead, personal=personal)
    session.add_all(
        [LeadTerm(lead_id=lead.id, kind=TermKind.THERAPY, slug=s) for s in lead.therapies]
        + [LeadTerm(lead_id=lead.id, kind=TermKind.CONDITION, slug=s) for s in lead.conditions]
    )
    if lead.status != LeadStatus.SPAM:
        outbox.emit_lead_change(
            session=session, ring=ring, lead=lead, personal=personal, created=True
        )
    return lead


def intake(
    *,
    session: Session,
    ring: KeyRing,
    data: ConsultationRequestCreate,
    ctx: SubmissionContext,
    idempotency_key: str | None,
    idempotency_ttl: timedelta,
) -> IntakeResult:
    """Store a lead once per Idempotency-Key, in the caller's transaction, or name the lead
    that an earlier request with the same key and body created."""
    lead_id, now = uuid.uuid4(), utcnow()
    if idempotency_key is not None:
        earlier = idempotency.claim(
            session=session,
            key=idempotency_key,
            digest=idempotency.fingerprint(data.model_dump(mode="json")),
            lead_id=lead_id,
            now=now,
            ttl=idempotency_ttl,
        )
        if earlier is not None:
            first = session.get_one(ConsultationRequest, earlier)
            return IntakeResult(first.id, first.created_at.astimezone(UTC), replayed=True)
    lead = create_lead(session=session, ring=ring, data=data, ctx=ctx, lead_id=lead_id, now=now)
    return IntakeResult(lead.id, lead.created_at, replayed=False)
