"""The checks a submission's valid fields must pass against the content and settings: a phone
number E.164 can hold, a known consent version in its locale, known therapy, condition and
article slugs, and disclaimer versions that exist."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from sqlmodel import Session

from core.config import DEFAULT_CLINIC_NAME
from schemas.vocabulary import ContactMethod
from services.leads.catalog import CatalogSnapshot, IntakeCatalog


@dataclass(frozen=True)
class SubmissionContext:
    """Facts about the HTTP request that the lead records."""

    client_ip: str | None
    user_agent: str | None
    default_region: str
    default_locale: str
    request_id: str | None = None  # carried by the lead's webhook event
    clinic_name: str = DEFAULT_CLINIC_NAME  # written into the consent the lead stores


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


def check(
    session: Session, values: Mapping[str, Any], ctx: SubmissionContext, known: CatalogSnapshot
) -> _Checked:
    """The checks that need the content or settings, over a submission's valid fields.

    `values` is a whole valid submission (dumped in JSON mode) or the parts of an invalid one
    that passed the schema (`schemas.partial.valid_parts`): a field left out failed the schema,
    which reports it, so nothing here looks at it."""
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
        text = wording.agreed(sms=bool(consent_in.get("sms")), clinic_name=ctx.clinic_name)
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
    return check(session, parts, ctx, (catalog or IntakeCatalog()).current(session)).errors


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
