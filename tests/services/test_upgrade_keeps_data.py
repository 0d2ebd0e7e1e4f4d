"""Upgrading a database that already holds content and leads loses nothing: every row that
refers to a rebuilt table survives, and the leads come out encrypted, not dropped."""

import json
import uuid

from alembic import command
from sqlalchemy import text
from sqlmodel import Session, select

from db.lead_models import ConsultationRequest, LeadKey
from db.migrate import alembic_config, upgrade
from db.webhook_models import WebhookEvent
from schemas.vocabulary import ArticleSort
from services.content import search
from services.leads import vault
from tests.vault_helpers import ring

NOW = "CURRENT_TIMESTAMP"
TABLES = ("articlesection", "articletherapy", "articlecondition", "leadterm", "consultationrequest")


def _id(database, value: uuid.UUID) -> object:
    return value.hex if database.backend == "sqlite" else value


def _populate_at_0004(database, article: uuid.UUID, lead: uuid.UUID) -> None:
    """Rows as the 0004 schema held them (raw SQL: the models describe the newest schema)."""
    with database.engine().begin() as conn:
        run = conn.execute
        run(
            text(
                "INSERT INTO therapy (id, slug, name, description, regulatory_note) "
                "VALUES (1, 'iv-ketamine', 'IV ketamine', 'd', 'n')"
            )
        )
        run(
            text(
                "INSERT INTO condition (id, slug, name, description) "
                "VALUES (1, 'ptsd', 'PTSD', 'd')"
            )
        )
        run(
            text(
                "INSERT INTO article (id, slug, locale, title, summary, status, reviewer,"
                " created_at, updated_at, revision, content_hash, source_path) VALUES (:id, 'a',"
                f" 'en', 'A', 's', 'published', 'Dr X', {NOW}, {NOW}, 1, 'h', 'articles/a.md')"
            ),
            {"id": _id(database, article)},
        )
        for position in range(3):
            run(
                text(
                    "INSERT INTO articlesection (article_id, position, key, heading, kind,"
                    " markdown, html, text) VALUES (:a, :p, :k, 'H', 'overview', 'm', '<p>m</p>',"
                    " 'm')"
                ),
                {"a": _id(database, article), "p": position, "k": f"s{position}"},
            )
        run(
            text("INSERT INTO articletherapy (article_id, therapy_id) VALUES (:a, 1)"),
            {"a": _id(database, article)},
        )
        run(
            text("INSERT INTO articlecondition (article_id, condition_id) VALUES (:a, 1)"),
            {"a": _id(database, article)},
        )
        run(
            text(
                "INSERT INTO article_search (article_id, document) VALUES"
                " (:a, to_tsvector('english', 'Quokkas before the upgrade'))"
                if database.backend == "postgresql"
                else "INSERT INTO article_search (article_id, title, summary, body)"
                " VALUES (:a, 'A', 's', 'Quokkas before the upgrade')"
            ),
            {"a": _id(database, article)},
        )
        run(
            text(
                "INSERT INTO consultationrequest (id, created_at, updated_at, status, first_name,"
                " last_name, email, phone, preferred_contact_method, therapies, conditions,"
                " message, consent_contact, consent_sms, consent_version, consent_at, client_ip,"
                " utm, channel, disclaimer_versions) VALUES (:id, "
                f"{NOW}, {NOW}, 'new', 'Oldrich', 'Upgrade', 'oldrich@example.org',"
                " '+14155550132', 'phone', '[\"iv-ketamine\"]', '[\"ptsd\"]', 'Before 0007',"
                f" :t, :f, '2026-11-01', {NOW}, '192.0.2.5', :utm, 'web', '[]')"
            ),
            {
                "id": _id(database, lead),
                "t": True,
                "f": False,
                "utm": json.dumps({"utm_content": "oldrich@example.org"}),
            },
        )
        run(
            text(
                "INSERT INTO webhookevent (id, type, subject_id, data, created_at) VALUES (:id,"
                f" 'consultation_request.created', :s, :d, {NOW})"
            ),
            {
                "id": _id(database, uuid.uuid4()),
                "s": str(lead),
                "d": json.dumps({"id": str(lead), "email": "oldrich@example.org", "links": {}}),
            },
        )
        for kind, slug in (("therapy", "iv-ketamine"), ("condition", "ptsd")):
            run(
                text("INSERT INTO leadterm (lead_id, kind, slug) VALUES (:l, :k, :s)"),
                {"l": _id(database, lead), "k": kind, "s": slug},
            )


def _counts(database) -> dict[str, int]:
    with database.engine().connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


def test_upgrading_a_populated_database_keeps_and_encrypts_everything(database):
    command.upgrade(alembic_config(database.url), "0004")
    article, lead_id = uuid.uuid4(), uuid.uuid4()
    _populate_at_0004(database, article, lead_id)
    before = _counts(database)
    upgrade(database.url)
    assert (
        _counts(database)
        == before
        == {
            "articlesection": 3,
            "articletherapy": 1,
            "articlecondition": 1,
            "leadterm": 2,
            "consultationrequest": 1,
        }
    )
    engine = database.engine()
    with Session(engine) as s:
        lead = s.get_one(ConsultationRequest, lead_id)
        assert s.get(LeadKey, lead_id) is not None
        personal = vault.open_one(session=s, ring=ring(), lead=lead)
    assert (personal.first_name, personal.email, personal.message, personal.client_ip) == (
        "Oldrich",
        "oldrich@example.org",
        "Before 0007",
        "192.0.2.5",
    )
    assert lead.email_index == vault.email_index(ring=ring(), email="oldrich@example.org")
    assert personal.utm == {"utm_content": "oldrich@example.org"}  # sealed by 0016
    with engine.connect() as conn:  # and the plaintext column is gone
        columns = conn.execute(text("SELECT * FROM consultationrequest")).keys()
    assert "utm" not in columns
    with Session(engine) as s:  # the search index moved (0010 on SQLite) and still finds it
        hits = search.find(
            session=s, q="quokka", conditions=[], sort=ArticleSort.RELEVANCE, offset=0, limit=5
        )
        assert hits.ids == [article]
        quoted = search.snippets(session=s, q="quokka", ids=hits.ids)[article]
        # (PostgreSQL quotes the article's own rows, which this raw setup did not fill alike.)
        if database.backend == "sqlite":
            assert "<mark>Quokkas</mark>" in quoted
    with Session(engine) as s:
        [event] = s.exec(select(WebhookEvent)).all()
        assert "oldrich" not in str(event.data)
        opened = vault.open_event(session=s, ring=ring(), data=event.data)
        assert opened == {"id": str(lead_id), "email": "oldrich@example.org"}
    engine.dispose()
