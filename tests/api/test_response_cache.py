"""Cached public responses: no database work on a hit, and a content change is served once the
cache has checked the content version, in every process.

The app checks the version in the background every `refresh_seconds`. No test here times that:
in-process the test runs the check itself; across processes it waits (with a generous
deadline) for each process to serve the change. Timing belongs in bench/."""

import shutil
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import event

from api.response_cache import ResponseCache
from tests.conftest import DEMO_CONTENT
from tests.content_helpers import import_folder
from tests.servers import uvicorn_servers
from tests.waiting import eventually

ARTICLE = "/v1/articles/iv-ketamine-for-ptsd"


def _edited_content(tmp_path: Path) -> Path:
    content = Path(shutil.copytree(DEMO_CONTENT, tmp_path / "content"))
    article = content / "articles/iv-ketamine-for-ptsd.md"
    article.write_text(
        article.read_text().replace("## Fear extinction {#", "## Unlearning fear {#")
    )
    disclaimers = content / "disclaimers.yaml"
    disclaimers.write_text(
        disclaimers.read_text().replace("call or text 988", "call or text 988 now")
    )
    return content


def _refresh(c: TestClient) -> None:
    """Run the cache's content-version check now, on the app's event loop."""
    cache: ResponseCache = c.app.state.response_cache  # type: ignore[attr-defined]
    assert c.portal is not None
    c.portal.call(cache.refresh)


def _article(http: httpx.Client, base: str) -> dict[str, Any]:
    response = http.get(base + ARTICLE)
    assert response.status_code == 200
    return dict(response.json())


def _serves_revision(http: httpx.Client, base: str, revision: int) -> bool:
    return bool(_article(http, base)["revision"] == revision)


def test_a_cache_hit_does_no_database_work(make_client):
    c = make_client()
    cache = c.app.state.response_cache
    _refresh(c)
    assert cache.version is not None
    engine = c.app.state.engine
    statements: list[str] = []

    def record(*args: object) -> None:
        statement = str(args[2])
        # The periodic version check runs meanwhile: its query, and on SQLite its BEGIN (a
        # BEGIN alone reads nothing; any work after one is recorded).
        if "contentstate" not in statement.lower() and not statement.startswith("BEGIN"):
            statements.append(statement)

    def queries(path: str) -> tuple[int, bytes]:
        statements.clear()
        response = c.get(path)
        assert response.status_code == 200
        return len(statements), response.content

    event.listen(engine, "before_cursor_execute", record)
    try:
        miss, first = queries(ARTICLE)
        hit, again = queries(ARTICLE)
        list_miss, _ = queries("/v1/articles?therapy=iv-ketamine")
        list_hit, _ = queries("/v1/articles?therapy=iv-ketamine")
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert again == first
    assert miss > 0 and list_miss > 0
    assert hit == 0 and list_hit == 0


def test_a_content_change_is_served_after_the_next_version_check(make_client, seeded, tmp_path):
    c = make_client()
    cache = c.app.state.response_cache
    _refresh(c)
    before = c.get(ARTICLE).json()
    assert before["revision"] == 1
    engine = seeded.engine()
    import_folder(engine, _edited_content(tmp_path))
    engine.dispose()
    _refresh(c)
    after = c.get(ARTICLE).json()
    assert after["revision"] == 2
    assert [s["heading"] for s in after["sections"]][2] == "Unlearning fear"
    crisis = next(d for d in after["disclaimers"]["top"] if d["key"] == "crisis-resources")
    assert crisis["version"] == 2 and "988 now" in crisis["text"]
    assert cache.refresh_seconds < 1.0  # the app checks by itself at least once a second


def test_every_process_serves_a_content_change(seeded, tmp_path):
    with (
        uvicorn_servers(seeded.url, [tmp_path / "a.log", tmp_path / "b.log"]) as bases,
        httpx.Client() as http,
    ):
        for base in bases:
            for _ in range(3):
                assert _article(http, base)["revision"] == 1
        # the change is made by another process: this one
        engine = seeded.engine()
        import_folder(engine, _edited_content(tmp_path))
        engine.dispose()
        for base in bases:
            eventually(partial(_serves_revision, http, base, 2))
            after = _article(http, base)
            assert [s["heading"] for s in after["sections"]][2] == "Unlearning fear"
