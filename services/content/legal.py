"""Legal texts (the privacy notice): the current version in a locale, and where it is served.
The clinic's name is written into them where they say `{clinic_name}`, as in the consent, and
where to ask about one's data where they say `{privacy_contact}`."""

from sqlmodel import Session, col, select

from core.errors import NotFoundError
from db.lead_models import LegalDocument
from schemas.legal import LegalNoticePublic
from services.content.rendering import render_markdown
from services.content.term_words import for_locale

PRIVACY_NOTICE = "privacy-notice"


def filled(text: str, **values: str) -> str:
    """A legal text with each `{name}` it says replaced by `values[name]` (the clinic's own
    words, e.g. `clinic_name` from `CLINIC_NAME`); other braces are left as written."""
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


def notice_path(key: str, locale: str) -> str:
    """Where the API serves a legal text in a locale."""
    return f"/v1/legal/{key}?locale={locale}"


def _current(session: Session, key: str, locale: str, default_locale: str) -> LegalDocument | None:
    rows = session.exec(
        select(LegalDocument).where(LegalDocument.key == key, col(LegalDocument.current))
    ).all()
    return for_locale(
        {row.locale: row for row in rows}, locale=locale, default_locale=default_locale
    )


def current_locale(session: Session, *, key: str, locale: str, default_locale: str) -> str | None:
    """The locale the text `key` is served in for a reader of `locale`, or None without one."""
    row = _current(session, key, locale, default_locale)
    return row.locale if row else None


def current_notice(
    *,
    session: Session,
    key: str,
    locale: str,
    default_locale: str,
    clinic_name: str,
    privacy_contact: str,
) -> LegalNoticePublic:
    """The current version of `key` in `locale` (its base language's, else the default
    locale's), naming the clinic and where to ask about one's data."""
    row = _current(session, key, locale, default_locale)
    if row is None:
        raise NotFoundError("The clinic has published no such notice.", code="notice_not_found")
    words = {"clinic_name": clinic_name, "privacy_contact": privacy_contact}
    html, text = render_markdown(filled(row.markdown, **words))
    return LegalNoticePublic(
        key=row.key,
        locale=row.locale,
        version=row.version,
        title=filled(row.title, **words),
        effective=row.effective,
        html=html,
        text=text,
    )
