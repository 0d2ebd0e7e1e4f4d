"""Consent texts: the wording a lead form shows, versioned and immutable."""

from sqlmodel import Session, col, select

from core.errors import NotFoundError
from db.lead_models import ConsentText
from schemas.leads import ConsentTextPublic


def current_consent(*, session: Session) -> ConsentTextPublic:
    """The consent version forms must show now."""
    row = session.exec(select(ConsentText).where(col(ConsentText.current))).first()
    if row is None:
        raise NotFoundError("No consent text has been published.", code="consent_text_not_found")
    return ConsentTextPublic(version=row.version, text=row.text, sms_text=row.sms_text)


def find_version(*, session: Session, version: str) -> ConsentText | None:
    """A consent version by its identifier, current or superseded."""
    return session.exec(select(ConsentText).where(ConsentText.version == version)).first()
