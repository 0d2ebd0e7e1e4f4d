"""Migration 0012 on a database that holds content: existing articles become their own
translation group, existing disclaimers and consent texts English; the next import adds the
images and the Spanish texts; and 0012 goes down again."""

import uuid

import yaml
from alembic import command
from sqlalchemy import text
from sqlmodel import Session, select

from db.lead_models import ConsentText
from db.migrate import alembic_config, upgrade
from db.models import Article, Disclaimer
from tests.conftest import DEMO_CONTENT
from tests.content_helpers import import_folder

NOW = "CURRENT_TIMESTAMP"


def test_0012_keeps_content_and_the_next_import_completes_it(database):
    config = alembic_config(database.url)
    command.upgrade(config, "0011")
    article = uuid.uuid4()
    english = yaml.safe_load((DEMO_CONTENT / "consent.yaml").read_text())[0]
    with database.engine().begin() as conn:
        conn.execute(
            text(
                "INSERT INTO article (id, slug, locale, title, summary, status, created_at,"
                ' updated_at, revision, content_hash, source_path, "references") VALUES (:id,'
                f" 'iv-ketamine-for-ptsd', 'en', 'A', 's', 'published', {NOW}, {NOW}, 1, 'h',"
                " 'articles/iv-ketamine-for-ptsd.md', '[]')"
            ),
            {"id": article.hex if database.backend == "sqlite" else article},
        )
        conn.execute(
            text(
                "INSERT INTO disclaimer (key, version, title, text, placement, applies_to,"
                f" rule_slugs, active, created_at) VALUES ('crisis-resources', 1, 'T', 'x', 'top',"
                f" 'conditions', '[\"ptsd\"]', :t, {NOW})"
            ),
            {"t": True},
        )
        conn.execute(
            text(
                "INSERT INTO consenttext (version, text, sms_text, current, created_at) VALUES"
                f" ('2026-11-01', :text, :sms, :t, {NOW})"
            ),
            {"t": True, "text": english["text"], "sms": english["sms_text"]},
        )
    upgrade(database.url)
    engine = database.engine()
    with Session(engine) as session:
        row = session.exec(select(Article)).one()
        assert (row.translation_group, row.hero_image) == ("iv-ketamine-for-ptsd", None)
        assert session.exec(select(Disclaimer.locale)).all() == ["en"]
        assert session.exec(select(ConsentText.locale)).all() == ["en"]
    report = import_folder(engine, DEMO_CONTENT)
    assert "iv-ketamine-for-ptsd (en)" in report.updated
    assert "ketamina-intravenosa-para-tept (es)" in report.created
    with Session(engine) as session:
        row = session.exec(select(Article).where(Article.id == article)).one()
        assert row.hero_image is not None and row.hero_image["renditions"]
        locales = session.exec(select(ConsentText.locale).order_by(ConsentText.locale)).all()
        assert sorted(set(locales)) == ["en", "es"]
    engine.dispose()
    command.downgrade(config, "0011")
    with database.engine().connect() as conn:
        crisis = "SELECT count(*) FROM disclaimer WHERE key = 'crisis-resources'"
        assert conn.execute(text(crisis)).scalar_one() == 2  # English v1 and v2; Spanish gone
        # Both English versions (2026-11-01 and 2026-12-07); the Spanish ones gone.
        assert conn.execute(text("SELECT count(*) FROM consenttext")).scalar_one() == 2
    upgrade(database.url)
