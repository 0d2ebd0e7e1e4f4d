"""Consent texts: the wording a lead form shows, versioned and immutable."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from sqlmodel import Session, col, select

from core.errors import NotFoundError
from db.lead_models import ConsentText
from schemas.leads import ConsentTextPublic
from services.content.term_words import translation

T = TypeVar("T")


@dataclass(frozen=True)
class ConsentWording:
    """What one version of the consent says in one locale."""

    text: str
    sms_text: str


def for_locale(by_locale: Mapping[str, T], *, locale: str, default_locale: str) -> T | None:
    """What `by_locale` holds for a form in `locale`: that locale's, else its base language's
    (`es-MX` → `es`), else the default locale's. The one rule consent texts are found by, for
    `GET /v1/consent-texts/current` and for the version a lead names alike."""
    found = translation(by_locale, locale)
    return found if found is not None else by_locale.get(default_locale)


def current_consent(*, session: Session, locale: str, default_locale: str) -> ConsentTextPublic:
    """The consent version forms in `locale` must show now (the default locale's wording when
    `locale` has none)."""
    rows = session.exec(select(ConsentText).where(col(ConsentText.current))).all()
    row = for_locale(
        {row.locale: row for row in rows}, locale=locale, default_locale=default_locale
    )
    if row is None:
        raise NotFoundError("No consent text has been published.", code="consent_text_not_found")
    return ConsentTextPublic(
        version=row.version, locale=row.locale, text=row.text, sms_text=row.sms_text
    )


def wordings(*, session: Session) -> dict[str, dict[str, ConsentWording]]:
    """Every version's wording (current or superseded), by version and then locale: a lead
    names its version with `for_locale`'s fallback (leads refer to old versions too)."""
    out: dict[str, dict[str, ConsentWording]] = {}
    rows = session.exec(
        select(ConsentText.version, ConsentText.locale, ConsentText.text, ConsentText.sms_text)
    )
    for version, locale, text, sms_text in rows:
        out.setdefault(version, {})[locale] = ConsentWording(text=text, sms_text=sms_text)
    return out
