"""Legal texts at import (versioned, retired, restored) and migration 0018 down and up again,
refused once a translation review exists (both backends)."""

import shutil
from pathlib import Path

from alembic import command
from sqlalchemy import text
from sqlmodel import Session, col, select

from db.editorial_models import ArticleReview
from db.lead_models import LegalDocument
from db.migrate import alembic_config, upgrade
from tests.content_helpers import import_folder


def _versions(engine) -> list[tuple[str, int, bool]]:
    with Session(engine) as s:
        rows = s.exec(select(LegalDocument).order_by(col(LegalDocument.locale), "version"))
        return [(row.locale, row.version, row.current) for row in rows]


def test_legal_texts_are_versioned_retired_and_restored(migrated, content: Path, tmp_path):
    engine = migrated.engine()
    try:
        first = import_folder(engine, content)
        assert sorted(first.legal_versions) == ["privacy-notice (es) v1", "privacy-notice v1"]
        assert import_folder(engine, content).legal_versions == []
        english = content / "legal/privacy-notice.md"
        english.write_text(english.read_text().replace("We do not", "We never", 1))
        assert import_folder(engine, content).legal_versions == ["privacy-notice v2"]
        assert _versions(engine) == [("en", 1, False), ("en", 2, True), ("es", 1, True)]
        spanish = content / "legal/privacy-notice.es.md"
        shutil.move(spanish, tmp_path / "aside.md")
        assert import_folder(engine, content).legal_versions == ["privacy-notice (es) v1 retired"]
        assert ("es", 1, False) in _versions(engine)
        shutil.move(tmp_path / "aside.md", spanish)
        back = import_folder(engine, content)
        assert back.legal_versions == ["privacy-notice (es) v1 current again"] and back.changed
        assert _versions(engine) == [("en", 1, False), ("en", 2, True), ("es", 1, True)]
    finally:
        engine.dispose()


def test_0018_goes_down_without_translation_reviews_and_up_again(database, content: Path):
    config = alembic_config(database.url)
    upgrade(database.url)
    engine = database.engine()
    try:
        import_folder(engine, content)  # the demo's Spanish articles have translation reviews
        with Session(engine) as s:
            roles = s.exec(select(ArticleReview.role)).all()
        assert roles.count("translation") == 3 and roles.count("medical") == 8
        # An older release has no roles: it would count a translation review as medical.
        command.downgrade(config, "0017")
        with engine.connect() as conn:
            kept = conn.execute(text("SELECT count(*) FROM articlereview")).scalar_one()
        assert kept == 8
        upgrade(database.url)
        with Session(engine) as s:
            assert set(s.exec(select(ArticleReview.role)).all()) == {"medical"}
    finally:
        engine.dispose()
