"""Migration 0016 moves UTM values into the sealed data and back again on a downgrade (the
older release reads them from the column, and cannot read sealed data that holds them); a
damaged lead neither stops the upgrade nor keeps its plaintext."""

import uuid

from alembic import command
from sqlalchemy import text
from sqlmodel import Session

from db.lead_models import ConsultationRequest
from db.migrate import alembic_config, upgrade
from db.session import unit_of_work
from schemas.leads import ConsultationRequestCreate
from services.leads import intake, vault
from tests.conftest import lead_body
from tests.vault_helpers import ring

CTX = intake.SubmissionContext(
    client_ip="192.0.2.1", user_agent="t", default_region="US", default_locale="en"
)


def _lead(engine, campaign: str) -> uuid.UUID:
    body = lead_body(source={"utm_campaign": campaign, "utm_content": f"{campaign}@example.org"})
    with unit_of_work(engine) as s:
        data = ConsultationRequestCreate.model_validate(body)
        return intake.create_lead(session=s, ring=ring(), data=data, ctx=CTX).id


def _ident(database, lead_id: uuid.UUID) -> object:
    return lead_id.hex if database.backend == "sqlite" else lead_id


def test_utm_values_go_back_to_the_column_on_a_downgrade_and_a_damaged_lead_stops_nothing(
    seeded,
):
    engine = seeded.engine()
    kept, damaged = _lead(engine, "spring"), _lead(engine, "summer")
    engine.dispose()
    command.downgrade(alembic_config(seeded.url), "0015")
    engine = seeded.engine()
    with engine.begin() as conn:
        rows = dict(conn.execute(text("SELECT id, utm FROM consultationrequest")).all())
        assert len(rows) == 2 and all("@example.org" in str(utm) for utm in rows.values())
        sealed = conn.execute(
            text("SELECT sealed FROM consultationrequest WHERE id = :id"),
            {"id": _ident(seeded, damaged)},
        ).scalar_one()
        conn.execute(
            text("UPDATE consultationrequest SET sealed = :s WHERE id = :id"),
            {"s": sealed[:-1] + bytes([sealed[-1] ^ 1]), "id": _ident(seeded, damaged)},
        )
    engine.dispose()
    upgrade(seeded.url)  # the damaged lead does not stop it
    engine = seeded.engine()
    with Session(engine) as s:
        opened = vault.open_many(
            session=s,
            ring=ring(),
            leads=[s.get_one(ConsultationRequest, i) for i in (kept, damaged)],
        )
    assert opened[kept].utm == {"utm_campaign": "spring", "utm_content": "spring@example.org"}
    assert isinstance(opened[damaged], vault.Unreadable)
    with engine.connect() as conn:  # and no plaintext column is left for it
        columns = list(conn.execute(text("SELECT * FROM consultationrequest")).keys())
    assert "utm" not in columns
    engine.dispose()
