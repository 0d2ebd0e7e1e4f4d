"""The change feed: a client that replays it ends with exactly what `GET /v1/articles` lists."""

import random
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, col, select

from api.response_cache import ResponseCache
from db.models import ContentChange
from db.session import unit_of_work
from main import create_app
from services.content import changes
from services.content.importer import import_content
from services.cursors import encode_id
from tests.conftest import DEMO_CONTENT, settings_for
from tests.content_helpers import import_folder

Held = dict[str, tuple[str, str, int]]  # article id -> (slug, locale, revision)
PUBLISHED = ("iv-ketamine-for-ptsd", "nad-plus-iv-therapy", "stellate-ganglion-block-for-ptsd")


def _refresh(c: TestClient) -> None:
    """Run the cache's content-version check now, on the app's event loop."""
    cache: ResponseCache = c.app.state.response_cache  # type: ignore[attr-defined]
    assert c.portal is not None
    c.portal.call(cache.refresh)


def replay(c: TestClient, held: Held, since: str | None, limit: int = 3) -> str:
    """Apply the feed after `since` to `held` as a client would; returns the cursor to keep."""
    cursor = since
    while True:
        query = f"?limit={limit}" + (f"&since={cursor}" if cursor else "")
        r = c.get("/v1/changes" + query)
        assert r.status_code == 200, r.text
        body = r.json()
        for change in body["data"]:
            if not change["type"].startswith("article."):
                continue
            if change["deleted"]:
                assert change["href"] is None and change["slug"] and change["locale"]
                held.pop(change["id"], None)
            else:
                held[change["id"]] = (change["slug"], change["locale"], change["revision"])
                assert change["href"] == f"/v1/articles/{change['slug']}?locale={change['locale']}"
        assert (
            body["links"]["next"]
            == f"/v1/changes?since={body['meta']['next_cursor']}&limit={limit}"
        )
        if not body["data"]:
            assert body["meta"]["next_cursor"] == (cursor or "0" * 16)
        cursor = body["meta"]["next_cursor"]
        if not body["meta"]["has_more"]:
            return str(cursor)


def listed(c: TestClient, held: Held | None = None) -> Held:
    """What `GET /v1/articles` lists in every locale the client holds (a translation is an
    article of its own, in the feed like any other)."""
    locales = {"en", *(locale for _, locale, _ in (held or {}).values())}
    found: Held = {}
    for locale in sorted(locales):
        r = c.get(f"/v1/articles?page_size=100&locale={locale}")
        assert r.status_code == 200
        found |= {a["id"]: (a["slug"], a["locale"], a["revision"]) for a in r.json()["data"]}
    return found


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """The demo content plus two clones of each published article, editable by the test."""
    folder = Path(shutil.copytree(DEMO_CONTENT, tmp_path / "content"))
    for slug in PUBLISHED:
        source = folder / f"articles/{slug}.md"
        for n in (2, 3):
            text = source.read_text().replace(f"slug: {slug}\n", f"slug: {slug}-{n}\n", 1)
            (folder / f"articles/{slug}-{n}.md").write_text(text)
    return folder


@pytest.fixture
def app_client(migrated: Any) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(migrated.url))) as c:
        yield c


def _family(path: Path, among: list[Path]) -> list[Path]:
    """`path` with the articles it translates or that translate it (one translation group)."""

    def slug_and_original(p: Path) -> tuple[str, str | None]:
        text = p.read_text()
        slug = re.search(r"^slug: (\S+)$", text, re.M)
        original = re.search(r"^translation_of: (\S+)$", text, re.M)
        assert slug is not None
        return slug.group(1), original.group(1) if original else None

    slug, original = slug_and_original(path)
    group = original or slug
    return [p for p in among if group in slug_and_original(p)]


def _step(rng: random.Random, folder: Path, shelf: Path, n: int) -> None:
    """One random editorial change: edit, unpublish, publish, archive, restore, or retitle a
    therapy (which changes every article's representation)."""
    files = sorted(p for p in (folder / "articles").glob("*.md") if "draft" not in p.name)
    shelved = sorted(shelf.glob("*.md"))
    action = rng.choice(["edit", "edit", "status", "status", "archive", "restore", "therapy"])
    if action == "restore" and shelved:
        for path in _family(rng.choice(shelved), shelved):  # a translation needs its original
            path.rename(folder / "articles" / path.name)
    elif action == "archive" and len(files) > 2:
        for path in _family(rng.choice(files), files):  # an original takes its translations
            path.rename(shelf / path.name)
    elif action == "status":
        path = rng.choice(files)
        text = path.read_text()
        flipped = re.sub(
            r"^status: (published|draft)$",
            lambda m: "status: " + ("draft" if m.group(1) == "published" else "published"),
            text,
            count=1,
            flags=re.M,
        )
        path.write_text(flipped)
    elif action == "therapy":
        path = folder / "therapies.yaml"
        path.write_text(path.read_text().replace("name: NAD+", f"name: NAD+ ({n})", 1))
    else:
        path = rng.choice(files)
        path.write_text(path.read_text() + f"\nEdited in step {n}.\n")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_replaying_the_feed_matches_the_published_set(
    app_client, migrated, content, tmp_path, seed
):
    rng = random.Random(seed)
    engine = migrated.engine()
    shelf = tmp_path / "shelf"
    shelf.mkdir()
    import_folder(engine, content)
    _refresh(app_client)
    # A client that synced early keeps its state and cursor, and catches up later.
    early: Held = {}
    early_cursor = replay(app_client, early, None)
    assert early == listed(app_client, early) and len(early) >= 9
    for n in range(12):
        _step(rng, content, shelf, n)
        import_folder(engine, content)
        if n % 4 == 3:
            _refresh(app_client)
            fresh: Held = {}
            replay(app_client, fresh, None)
            assert fresh == listed(app_client, fresh)
    _refresh(app_client)
    fresh = {}
    latest = replay(app_client, fresh, None)
    expected = listed(app_client, fresh)
    assert fresh == expected
    early_cursor = replay(app_client, early, early_cursor)
    assert early == expected and early_cursor == latest
    # Nothing new: the same cursor comes back, so a client just keeps polling with it.
    types = {d["type"] for d in app_client.get("/v1/changes?limit=500").json()["data"]}
    assert {"article.published", "article.updated", "article.unpublished"} <= types
    again = app_client.get(f"/v1/changes?since={latest}").json()
    assert again["data"] == [] and again["meta"]["next_cursor"] == latest
    engine.dispose()


def test_a_full_sync_then_the_feed_from_the_lists_cursor(make_client, seeded, tmp_path):
    c = make_client()
    page = c.get("/v1/articles?page_size=100").json()
    held = {a["id"]: (a["slug"], a["locale"], a["revision"]) for a in page["data"]}
    cursor = page["meta"]["changes_cursor"]
    assert c.get(f"/v1/changes?since={cursor}").json()["data"] == []
    folder = Path(shutil.copytree(DEMO_CONTENT, tmp_path / "content"))
    (folder / "articles/nad-plus-iv-therapy.md").unlink()
    (folder / "articles/terapia-intravenosa-con-nad.md").unlink()  # its translation
    engine = seeded.engine()
    import_folder(engine, folder)
    engine.dispose()
    _refresh(c)
    replay(c, held, cursor)
    assert held == listed(c, held) and "nad-plus-iv-therapy" not in {s for s, _, _ in held.values()}
    data = c.get(f"/v1/changes?since={cursor}").json()["data"]
    tombstones = [d for d in data if d["type"].startswith("article.")]
    assert {(t["type"], t["deleted"], t["slug"], t["locale"]) for t in tombstones} == {
        ("article.unpublished", True, "nad-plus-iv-therapy", "en"),
        ("article.unpublished", True, "terapia-intravenosa-con-nad", "es"),
    }
    # The therapy and condition pages listed it: each is entered once, to be read again.
    pages = [(d["type"], d["slug"]) for d in data if not d["type"].startswith("article.")]
    assert ("therapy.changed", "nad-plus") in pages and len(pages) == len(set(pages))
    assert c.get("/v1/therapies/nad-plus").json()["articles"] == []


def test_an_edited_article_enters_the_pages_that_list_it(make_client, seeded, tmp_path):
    c = make_client()
    cursor = c.get("/v1/articles").json()["meta"]["changes_cursor"]
    folder = Path(shutil.copytree(DEMO_CONTENT, tmp_path / "content"))
    article = folder / "articles/nad-plus-iv-therapy.md"
    article.write_text(article.read_text().replace("\ntitle: ", "\ntitle: Revised ", 1))
    engine = seeded.engine()
    import_folder(engine, folder)
    engine.dispose()
    _refresh(c)
    data = c.get(f"/v1/changes?since={cursor}").json()["data"]
    assert [d["slug"] for d in data if d["type"] == "article.updated"] == ["nad-plus-iv-therapy"]
    hrefs = {d["href"] for d in data if d["type"] == "therapy.changed"}
    assert "/v1/therapies/nad-plus" in hrefs
    titles = [a["title"] for a in c.get("/v1/therapies/nad-plus").json()["articles"]]
    assert any(t.startswith("Revised ") for t in titles)


def test_taxonomy_and_disclaimer_changes_are_entered(make_client, seeded, tmp_path):
    c = make_client()
    cursor = c.get("/v1/articles").json()["meta"]["changes_cursor"]
    folder = Path(shutil.copytree(DEMO_CONTENT, tmp_path / "content"))
    therapies = folder / "therapies.yaml"
    therapies.write_text(therapies.read_text().replace("name: NAD+", "name: NAD+ infusions", 1))
    disclaimers = folder / "disclaimers.yaml"
    disclaimers.write_text(
        disclaimers.read_text().replace("call or text 988", "call or text 988 now")
    )
    engine = seeded.engine()
    import_folder(engine, folder)
    engine.dispose()
    _refresh(c)
    data = c.get(f"/v1/changes?since={cursor}").json()["data"]
    kinds = [(d["type"], d["slug"], d["href"]) for d in data]
    assert ("therapy.changed", "nad-plus", "/v1/therapies/nad-plus") in kinds
    assert ("disclaimer.changed", "crisis-resources", "/v1/disclaimers") in kinds
    # Every published article embeds taxonomy names and disclaimers: each is entered as updated.
    updated = {(d["slug"], d["locale"]) for d in data if d["type"] == "article.updated"}
    held: Held = {}
    replay(c, held, None)
    assert updated == {(slug, locale) for slug, locale, _ in listed(c, held).values()}
    assert set(PUBLISHED) <= {slug for slug, _ in updated}
    assert all(d["id"] is None and d["locale"] is None for d in data if "article" not in d["type"])


def test_drafts_never_enter_the_feed(client):
    data = client.get("/v1/changes?limit=500").json()["data"]
    slugs = {d["slug"] for d in data if d["type"].startswith("article.")}
    assert set(PUBLISHED) <= slugs and "ketamine-for-chronic-pain" not in slugs
    assert [d["cursor"] for d in data] == sorted(d["cursor"] for d in data)


@pytest.mark.parametrize(
    "since", ["abc", "0" * 15, "0" * 17, "G" * 16, "8000000000000000", "ffffffffffffffff"]
)
def test_a_malformed_cursor_is_a_422(client, since):
    r = client.get(f"/v1/changes?since={since}")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.since"


def test_a_cursor_from_no_history_here_is_gone(client):
    r = client.get("/v1/changes?since=0000000fffffffff")
    assert r.status_code == 410
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "cursor_expired" and "GET /v1/articles" in r.json()["detail"]


@pytest.mark.parametrize("limit", ["0", "501", "x"])
def test_limit_is_bounded(client, limit):
    assert client.get(f"/v1/changes?limit={limit}").status_code == 422


def test_retention_prunes_at_import_and_old_cursors_are_gone(make_client, seeded, tmp_path):
    c = make_client()
    start = c.get("/v1/changes?limit=1").json()["meta"]["next_cursor"]
    before = c.get("/v1/articles").json()["meta"]["changes_cursor"]
    engine = seeded.engine()
    with Session(engine) as s:  # the demo import happened three days ago
        s.execute(update(ContentChange).values(changed_at=datetime.now(UTC) - timedelta(days=3)))
        s.commit()
    folder = Path(shutil.copytree(DEMO_CONTENT, tmp_path / "content"))
    path = folder / "articles/nad-plus-iv-therapy.md"
    path.write_text(path.read_text() + "\nEdited.\n")
    with unit_of_work(engine) as session:
        import_content(session=session, content_dir=folder, retention=timedelta(days=2))
    with Session(engine) as s:
        kept = list(s.exec(select(ContentChange).order_by(col(ContentChange.id))))
    engine.dispose()
    articles = [(k.type, k.slug) for k in kept if k.article_id is not None]
    assert articles == [("article.updated", "nad-plus-iv-therapy")]
    assert {k.type for k in kept} == {"article.updated", "therapy.changed", "condition.changed"}
    _refresh(c)
    for gone in ("", f"?since={start}"):
        r = c.get("/v1/changes" + gone)
        assert r.status_code == 410 and r.json()["code"] == "cursor_expired"
    # The newest cursor before the import is the horizon itself: still good.
    ok = c.get(f"/v1/changes?since={before}").json()
    assert [d["slug"] for d in ok["data"]] == [k.slug for k in kept]
    assert c.get("/v1/articles").json()["meta"]["changes_cursor"] == ok["meta"]["next_cursor"]


def test_prune_keeps_the_window(seeded):
    engine = seeded.engine()
    with unit_of_work(engine) as session:
        total = len(list(session.exec(select(ContentChange))))
        assert changes.prune(session=session, keep=timedelta(days=1)) == 0
        later = datetime.now(UTC) + timedelta(days=2)
        assert changes.prune(session=session, keep=timedelta(days=1), now=later) == total
        assert changes.current_cursor(session=session) == encode_id(total)
    engine.dispose()


def test_updated_since_is_a_strict_utc_instant(make_client, seeded, tmp_path):
    c = make_client()
    assert c.get("/v1/articles?updated_since=2000-01-01T00:00:00Z").json()["meta"]["total"] == 3
    future = "2999-01-01T00:00:00%2B02:00"
    assert c.get(f"/v1/articles?updated_since={future}").json()["meta"]["total"] == 0
    for bad in ("2026-01-01", "2026-01-01T00:00:00", "0.5", "yesterday"):
        r = c.get(f"/v1/articles?updated_since={bad}")
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.updated_since"
    mark = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    folder = Path(shutil.copytree(DEMO_CONTENT, tmp_path / "content"))
    path = folder / "articles/nad-plus-iv-therapy.md"
    path.write_text(path.read_text() + "\nEdited.\n")
    engine = seeded.engine()
    import_folder(engine, folder)
    engine.dispose()
    _refresh(c)
    body = c.get(f"/v1/articles?updated_since={mark}").json()
    assert [a["slug"] for a in body["data"]] == ["nad-plus-iv-therapy"]


def test_article_entry_rules():
    assert changes.article_change(None, "published") == "article.published"
    assert changes.article_change("draft", "published") == "article.published"
    assert changes.article_change("archived", "published") == "article.published"
    assert changes.article_change("published", "published") == "article.updated"
    assert changes.article_change("published", "draft") == "article.unpublished"
    assert changes.article_change("published", "archived") == "article.unpublished"
    assert changes.article_change("draft", "archived") is None
    assert changes.article_change(None, "draft") is None
