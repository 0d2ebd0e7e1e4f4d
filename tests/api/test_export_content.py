"""Files stay first-class: what the database holds, written as a content folder (articles
written over HTTP, their images, reviewers and approvals included), imports into a fresh
database with its approvals kept, and importing it again changes nothing."""

import io
from pathlib import Path

import yaml
from PIL import Image
from sqlmodel import Session, select

from db.models import Article
from db.session import unit_of_work
from services.content.export import export_content
from services.content.importer import import_content
from tests.conftest import DEMO_CONTENT
from tests.editorial_helpers import Desk


def _image() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 360), (200, 120, 40)).save(buffer, "PNG")
    return buffer.getvalue()


def test_export_then_import_twice_keeps_approvals_and_changes_nothing(
    desk: Desk, seeded, databases, tmp_path: Path
):
    asset = desk.client.post(
        "/v1/admin/media",
        files={"file": ("room.png", _image(), "image/png")},
        data={"alt": "An infusion chair", "caption": "Room 2", "credit": "Clinic photo"},
        headers=desk.writer,
    ).json()
    created = desk.create(hero_media_id=asset["id"])
    assert desk.approve(created["id"], 1).status_code == 201
    assert desk.publish(created["id"], 1).status_code == 200

    engine = seeded.engine()
    try:
        with Session(engine) as session:
            written = export_content(session=session, out=tmp_path / "exported")
    finally:
        engine.dispose()
    demo = {
        name: yaml.safe_load((DEMO_CONTENT / name).read_text())
        for name in ("reviewers.yaml", "approvals.yaml")
    }
    articles = len(list((DEMO_CONTENT / "articles").glob("*.md")))
    # The demo's articles and images, and the one written over HTTP with its upload.
    assert (written.articles, written.images) == (articles + 1, 4)
    assert written.reviewers == len(demo["reviewers.yaml"]) + 2  # the desk's two, Ana and Ben
    assert written.approvals == len(demo["approvals.yaml"]) + 1  # and Ana's
    folder = tmp_path / "exported"
    assert "Ana Ruiz" in (folder / "reviewers.yaml").read_text()
    for name in ("privacy-notice.md", "privacy-notice.es.md"):  # the legal texts, as written
        assert (folder / "legal" / name).read_text() == (DEMO_CONTENT / "legal" / name).read_text()
    assert "emergency_notice" in (folder / "consent.yaml").read_text()
    assert (folder / "articles" / "nad-plus-questions.md").read_text().startswith("---\nslug:")

    (tmp_path / "fresh").mkdir()
    fresh = databases.take("migrated", tmp_path / "fresh")
    engine = fresh.engine()
    try:
        with unit_of_work(engine) as session:
            first = import_content(session=session, content_dir=folder)
        with unit_of_work(engine) as session:
            second = import_content(session=session, content_dir=folder)
        with Session(engine) as session:
            article = session.exec(
                select(Article).where(Article.slug == "nad-plus-questions")
            ).one()
            shown = (article.status, (article.reviewer or {}).get("name"), article.hero_image)
    finally:
        engine.dispose()
        databases.drop(fresh)
    assert len(first.created) == written.articles and first.unapproved == []
    assert first.approvals == written.approvals
    assert not second.changed, second
    assert second.unchanged == written.articles and second.approvals == 0
    status, reviewer, hero = shown
    assert status == "published" and reviewer == "Ana Ruiz"
    assert hero is not None and hero["alt"] == "An infusion chair"
