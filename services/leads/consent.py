"""Consent texts: the wording a lead form shows, versioned and immutable. A version written
for any clinic says `{clinic_name}` where the clinic's name (`CLINIC_NAME`) goes: the form
shows it, and the lead stores it, with the name filled in."""

from dataclasses import dataclass

from sqlmodel import Session, col, select

from core.errors import NotFoundError
from db.lead_models import ConsentText
from schemas.leads import ConsentTextPublic
from services.content import legal
from services.content.term_words import for_locale


@dataclass(frozen=True)
class ConsentWording:
    """What one version of the consent says in one locale (the name not yet filled in)."""

    text: str
    sms_text: str
    age_text: str | None = None

    def agreed(self, *, sms: bool, clinic_name: str) -> str:
        """The exact words a person agreed to: the consent, the adults-only statement they
        ticked, and the SMS opt-in if they ticked it, naming the clinic."""
        parts = [self.text, self.age_text, self.sms_text if sms else None]
        return legal.filled("\n\n".join(p for p in parts if p), clinic_name=clinic_name)


def current_consent(
    *, session: Session, locale: str, default_locale: str, clinic_name: str, base_url: str
) -> ConsentTextPublic:
    """The consent version forms in `locale` must show now (the default locale's wording when
    `locale` has none), with its emergency notice and a link to the privacy notice."""
    rows = session.exec(select(ConsentText).where(col(ConsentText.current))).all()
    row = for_locale(
        {row.locale: row for row in rows}, locale=locale, default_locale=default_locale
    )
    if row is None:
        raise NotFoundError("No consent text has been published.", code="consent_text_not_found")
    notice_locale = legal.current_locale(
        session, key=legal.PRIVACY_NOTICE, locale=row.locale, default_locale=default_locale
    )

    def named(text: str) -> str:
        return legal.filled(text, clinic_name=clinic_name)

    return ConsentTextPublic(
        version=row.version,
        locale=row.locale,
        text=named(row.text),
        sms_text=named(row.sms_text),
        age_text=named(row.age_text) if row.age_text else None,
        emergency_notice=named(row.emergency_notice) if row.emergency_notice else None,
        privacy_notice_url=(
            base_url + legal.notice_path(legal.PRIVACY_NOTICE, notice_locale)
            if notice_locale
            else None
        ),
    )


def wordings(*, session: Session) -> dict[str, dict[str, ConsentWording]]:
    """Every version's wording (current or superseded), by version and then locale: a lead
    names its version with `for_locale`'s fallback (leads refer to old versions too)."""
    out: dict[str, dict[str, ConsentWording]] = {}
    for row in session.exec(select(ConsentText)):
        out.setdefault(row.version, {})[row.locale] = ConsentWording(
            row.text, row.sms_text, row.age_text
        )
    return out
