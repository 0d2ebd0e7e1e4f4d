"""The file import beside the editorial API: an import leaves what was written over HTTP alone
(an article it never imported, an imported one edited or published since), and a file with
content the article never had still lands as its next revision."""

from pathlib import Path
from typing import Any

from tests.content_helpers import import_folder
from tests.editorial_helpers import ARTICLES, Desk, article_body
from tests.waiting import eventually


def _imported(desk: Desk, slug: str) -> dict[str, Any]:
    listed = desk.client.get(ARTICLES, params={"q": slug}, headers=desk.writer).json()
    (item,) = [i for i in listed["items"] if i["slug"] == slug and i["locale"] == "en"]
    read = desk.client.get(f"{ARTICLES}/{item['id']}", headers=desk.writer)
    return {**read.json(), "etag": read.headers["etag"]}


def test_an_import_keeps_what_was_written_over_http(desk: Desk, seeded, content: Path):
    created = desk.create()
    nad = _imported(desk, "nad-plus-iv-therapy")
    assert nad["status"] == "published" and nad["revision"] == 1
    body = {**nad["content"], "title": "NAD+ IV therapy: what is known"}
    edited = desk.client.put(
        f"{ARTICLES}/{nad['id']}", json=body, headers={**desk.writer, "If-Match": nad["etag"]}
    )
    assert edited.status_code == 200 and edited.json()["revision"] == 2
    assert desk.approve(nad["id"], 2).status_code == 201
    assert desk.publish(nad["id"], 2).status_code == 200

    engine = seeded.engine()
    try:
        report = import_folder(engine, content)  # the same folder as before
    finally:
        engine.dispose()
    assert report.archived == [] and report.updated == [], report
    after = _imported(desk, "nad-plus-iv-therapy")
    assert after["content"]["title"] == "NAD+ IV therapy: what is known"
    assert after["published_revision"] == 2
    assert (
        desk.client.get(f"{ARTICLES}/{created['id']}", headers=desk.writer).json()["status"]
        == "draft"
    ), "an article with no file is not archived"
    eventually(
        lambda: (
            desk.client.get("/v1/articles/nad-plus-iv-therapy").json()["title"]
            == "NAD+ IV therapy: what is known"
        )
    )

    # A file edited since brings content the article never had: it lands as the next revision.
    path = content / "articles" / "nad-plus-iv-therapy.md"
    path.write_text(path.read_text().replace("title: NAD+ IV therapy", "title: NAD+ infusions"))
    engine = seeded.engine()
    try:
        report = import_folder(engine, content)
    finally:
        engine.dispose()
    assert report.updated == ["nad-plus-iv-therapy (en)"]
    after = _imported(desk, "nad-plus-iv-therapy")
    assert after["revision"] == 3 and after["content"]["title"] == "NAD+ infusions"


def test_an_imported_revision_can_be_reviewed(desk: Desk):
    draft = _imported(desk, "ketamine-for-chronic-pain")
    history = desk.client.get(f"{ARTICLES}/{draft['id']}/revisions", headers=desk.writer)
    (first,) = history.json()["items"]
    assert first["source"] == "import" and len(first["content_hash"]) == 64
    assert desk.approve(draft["id"], first["revision"]).status_code == 201
    assert article_body()["slug"] != draft["slug"]
