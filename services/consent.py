"""Consent texts: the wording a lead form shows, versioned and immutable."""

from sqlmodel import Session, col, select

from core.errors import NotFoundError
from db.lead_models import ConsentText
from schemas.leads import ConsentTextPublic


def current_consent(*, session: Session, locale: str, default_locale: str) -> ConsentTextPublic:
    """The consent version forms in `locale` must show now (the default locale's wording when
    `locale` has none)."""
    rows = session.exec(select(ConsentText).where(col(ConsentText.current))).all()
    by_locale = {row.locale: row for row in rows}
    row = (
        by_locale.get(locale)
        or by_locale.get(locale.split("-", 1)[0])
        or by_locale.get(default_locale)
    )
    if row is None:
        raise NotFoundError("No consent text has been published.", code="consent_text_not_found")
    return ConsentTextPublic(
        version=row.version, locale=row.locale, text=row.text, sms_text=row.sms_text
    )


def find_version(
    *, session: Session, version: str, locale: str, default_locale: str
) -> ConsentText | None:
    """A consent version by its identifier (current or superseded) as a form in `locale` was
    shown it: in that locale, else its base language (`es-MX` → `es`), else the default
    locale, the same fallback `GET /v1/consent-texts/current` answers with."""
    rows = {
        row.locale: row
        for row in session.exec(select(ConsentText).where(ConsentText.version == version))
    }
    for candidate in (locale, locale.split("-", 1)[0], default_locale):
        if candidate in rows:
            return rows[candidate]
    return None
