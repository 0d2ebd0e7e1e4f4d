"""Opening leads' sealed personal data in tests, with the suite's master key."""

import os

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from core.crypto import KeyRing, decode_key
from db.lead_models import ConsultationRequest
from services.leads import vault
from services.leads.vault import Personal


def ring() -> KeyRing:
    """The key ring every test app uses (CLINIC_DATA_KEY, set by conftest)."""
    return KeyRing(decode_key(os.environ["CLINIC_DATA_KEY"]))


def opened_leads(engine: Engine) -> list[tuple[ConsultationRequest, Personal]]:
    """Every lead, oldest first, with its opened personal data."""
    with Session(engine) as session:
        leads = list(
            session.exec(select(ConsultationRequest).order_by(col(ConsultationRequest.created_at)))
        )
        opened = vault.open_many(session=session, ring=ring(), leads=leads)
    return [(lead, opened[lead.id]) for lead in leads]
