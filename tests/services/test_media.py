"""Hero images at import: checked before anything is written, rendered with Pillow (never
upscaled), named by the hash of their bytes and stored once in the database."""

import hashlib
import io
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image, features
from sqlalchemy import update
from sqlmodel import Session, col, select

from db.models import Article, MediaRendition, Therapy
from db.session import unit_of_work
from services.content import media
from services.content.importer import import_content
from tests.conftest import DEMO_CONTENT
from tests.content_helpers import content_problems, import_folder

KETAMINE = "articles/iv-ketamine-for-ptsd.md"


def _edit(content: Path, name: str, old: str, new: str) -> None:
    path = content / name
    text = path.read_text()
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, 1))


def _draw(path: Path, size: tuple[int, int], mode: str = "RGB") -> Path:
    image = Image.new(mode, size, "#3366aa" if mode == "RGB" else 128)
    image.save(path)
    return path


def test_the_demo_images_are_small_pngs_drawn_by_the_project():
    for path in sorted((DEMO_CONTENT / "media").iterdir()):
        assert path.suffix == ".png"
        assert path.stat().st_size < 200 * 1024, path.name
        with Image.open(path) as image:
            assert image.format == "PNG" and image.width >= 1600


def test_a_missing_image_fails_the_import_naming_the_file(content):
    (content / "media" / "iv-ketamine-hero.png").unlink()
    problems = content_problems(content)
    assert f"{KETAMINE}: hero_image.file: media/iv-ketamine-hero.png: file not found" in problems
    # the therapy and the Spanish article that use it are named too
    assert any(p.startswith("therapies.yaml: iv-ketamine.hero_image.file:") for p in problems)


def test_a_text_file_renamed_png_fails_the_import(content):
    (content / "media" / "iv-ketamine-hero.png").write_text("not a picture at all\n")
    problems = content_problems(content)
    assert (
        f"{KETAMINE}: hero_image.file: media/iv-ketamine-hero.png: not an image Pillow can "
        "read (PNG, JPEG or WebP)"
    ) in problems


def test_a_truncated_image_fails_the_import(content):
    path = content / "media" / "iv-ketamine-hero.png"
    path.write_bytes(path.read_bytes()[:4000])
    assert any("iv-ketamine-hero.png: not an image" in p for p in content_problems(content))


def test_an_image_over_20_megapixels_fails_the_import_before_it_is_decoded(content):
    _draw(content / "media" / "iv-ketamine-hero.png", (5000, 4001), mode="L")
    problems = content_problems(content)
    assert (
        f"{KETAMINE}: hero_image.file: media/iv-ketamine-hero.png: 5000x4001 is 20.0 "
        "megapixels; the limit is 20"
    ) in problems


def test_an_image_at_20_megapixels_is_accepted(tmp_path):
    source, problem = media.read_source(_draw(tmp_path / "big.png", (5000, 4000), "L"), "big")
    assert problem is None and source is not None and source.width == 5000


@pytest.mark.parametrize("field", ["alt", "caption", "credit"])
def test_blank_alt_caption_or_credit_fails_the_import(content, field):
    path = content / KETAMINE
    text = path.read_text()
    start = text.index("hero_image:\n")
    block = text[start : text.index("references:\n", start)]
    lines = block.splitlines()
    kept = [ln for ln in lines if not ln.startswith(f"  {field}:")]
    kept = [ln for ln in kept if not (ln.startswith("    ") and field == "alt")]
    path.write_text(text.replace(block, "\n".join([*kept, f"  {field}: '   '"]) + "\n"))
    problems = content_problems(content)
    assert any(
        p.startswith(f"{KETAMINE}: hero_image: Value error, {field} must not be blank")
        for p in problems
    ), problems


def test_missing_alt_text_fails_the_import(content):
    _edit(
        content,
        "therapies.yaml",
        '    alt: "Abstract artwork: warm, hazy circles over a violet gradient that fades to '
        'soft pink."\n',
        "",
    )
    assert "therapies.yaml: [2].hero_image.alt: Field required" in content_problems(content)


def test_an_image_outside_content_media_cannot_be_named(content):
    _edit(content, KETAMINE, "file: iv-ketamine-hero.png", "file: ../therapies.yaml")
    assert any(p.startswith(f"{KETAMINE}: hero_image.file:") for p in content_problems(content))


def test_renditions_are_never_upscaled(tmp_path):
    assert media.rendition_widths(3000) == [480, 960, 1600]
    assert media.rendition_widths(1600) == [480, 960, 1600]
    assert media.rendition_widths(1200) == [480, 960, 1200]
    assert media.rendition_widths(700) == [480, 700]
    assert media.rendition_widths(300) == [300]
    source, _ = media.read_source(_draw(tmp_path / "narrow.png", (700, 350)), "narrow.png")
    assert source is not None
    rows, colour = media.render(source, "narrow")
    kinds = 3 if features.check("avif") else 2
    assert len(rows) == 2 * kinds
    assert {(r.width, r.height) for r in rows} == {(480, 240), (700, 350)}
    assert colour == "#3366aa"
    for row in rows:
        digest = hashlib.sha256(row.data).hexdigest()[:16]
        assert row.name == f"narrow-{row.width}w-{digest}.{row.name.rsplit('.', 1)[1]}"
        with Image.open(io.BytesIO(row.data)) as image:
            assert image.size == (row.width, row.height)
            assert Image.MIME[image.format or ""] == row.mime_type


def test_transparency_is_flattened_and_metadata_is_not_copied(tmp_path):
    path = tmp_path / "clear.png"
    image = Image.new("RGBA", (600, 300), (0, 0, 0, 0))
    image.save(path, pnginfo=None)
    source, _ = media.read_source(path, "clear.png")
    assert source is not None
    rows, _ = media.render(source, "clear")
    jpeg = next(r for r in rows if r.mime_type == "image/jpeg")
    with Image.open(io.BytesIO(jpeg.data)) as out:
        assert out.mode == "RGB" and "exif" not in out.info
        assert out.getpixel((10, 10)) == (255, 255, 255)


def test_the_import_stores_each_rendition_once_and_reuses_it(migrated, content):
    engine = migrated.engine()
    import_folder(engine, content)
    with Session(engine) as session:
        rows = session.exec(select(MediaRendition)).all()
        per_image = 3 * (3 if features.check("avif") else 2)
        assert len(rows) == 3 * per_image  # three images, shared by therapies and articles
        article = session.exec(select(Article).where(Article.slug == "iv-ketamine-for-ptsd")).one()
        therapy = session.exec(select(Therapy).where(Therapy.slug == "iv-ketamine")).one()
        assert article.hero_image is not None and therapy.hero_image is not None
        assert article.hero_image["renditions"] == therapy.hero_image["renditions"]
        assert article.hero_image["alt"].startswith("Abstract artwork")
    report = import_folder(engine, content)
    assert not report.changed
    # A redrawn file with the same name changes the article and adds new renditions.
    _draw(content / "media" / "iv-ketamine-hero.png", (1000, 500))
    report = import_folder(engine, content)
    assert "iv-ketamine-for-ptsd (en)" in report.updated
    with Session(engine) as session:
        article = session.exec(select(Article).where(Article.slug == "iv-ketamine-for-ptsd")).one()
        assert article.hero_image is not None
        assert {r["width"] for r in article.hero_image["renditions"]} == {480, 960, 1000}
        assert len(session.exec(select(MediaRendition)).all()) > 3 * per_image
    engine.dispose()


def _import(engine, content: Path, keep: timedelta) -> int:
    with unit_of_work(engine) as session:
        return import_content(session=session, content_dir=content, retention=keep).media_removed


def _renditions(engine) -> dict[str, datetime | None]:
    with Session(engine) as session:
        return dict(session.exec(select(MediaRendition.name, MediaRendition.orphaned_at)).all())


def test_renditions_nothing_names_go_once_the_change_feed_has_forgotten_them(migrated, content):
    engine = migrated.engine()
    keep = timedelta(days=3)
    assert _import(engine, content, keep) == 0
    first = _renditions(engine)
    assert first and all(since is None for since in first.values())
    # The article and therapy change images: the old renditions are orphans, still served.
    _draw(content / "media" / "iv-ketamine-hero.png", (1000, 500))
    assert _import(engine, content, keep) == 0
    second = _renditions(engine)
    orphans = {name for name, since in second.items() if since is not None}
    assert orphans and orphans < set(first)
    with Session(engine) as session:
        assert media.find(session=session, name=sorted(orphans)[0]) is not None
    # Named again before they go: no longer orphans.
    shutil.copy(DEMO_CONTENT / "media" / "iv-ketamine-hero.png", content / "media")
    assert _import(engine, content, keep) == 0
    assert all(_renditions(engine)[name] is None for name in orphans)
    # Replaced again, and left unused past the retention: gone, the rest kept.
    _draw(content / "media" / "iv-ketamine-hero.png", (1000, 500))
    _import(engine, content, keep)
    with unit_of_work(engine) as session:
        session.execute(
            update(MediaRendition)
            .where(col(MediaRendition.orphaned_at).is_not(None))
            .values(orphaned_at=datetime.now(UTC) - keep - timedelta(minutes=1))
        )
    assert _import(engine, content, keep) == len(orphans)
    left = _renditions(engine)
    assert not orphans & set(left) and set(first) - orphans <= set(left)
    with Session(engine) as session:
        article = session.exec(select(Article).where(Article.slug == "iv-ketamine-for-ptsd")).one()
        assert article.hero_image is not None
        assert {r["name"] for r in article.hero_image["renditions"]} <= set(left)
    engine.dispose()
