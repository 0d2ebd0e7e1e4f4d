"""Cached public responses: no database work on a hit, and every process serves a content
change within a second."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import event

from core.config import PROJECT_ROOT
from tests.conftest import DEMO_CONTENT
from tests.content_helpers import import_folder
from tests.servers import uvicorn_server

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


def _wait_until(predicate, timeout: float) -> float:
    start = time.monotonic()
    while not predicate():
        assert time.monotonic() - start < timeout, "timed out"
        time.sleep(0.02)
    return time.monotonic() - start


def test_a_cache_hit_does_no_database_work(make_client):
    c = make_client()
    cache = c.app.state.response_cache
    _wait_until(lambda: cache.version is not None, 5)
    engine = c.app.state.engine
    statements: list[str] = []

    def record(*args: object) -> None:
        if "contentstate" not in str(args[2]).lower():  # the periodic version check
            statements.append(str(args[2]))

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


def test_a_content_change_is_served_within_a_second(make_client, seeded, tmp_path):
    c = make_client()
    _wait_until(lambda: c.app.state.response_cache.version is not None, 5)
    before = c.get(ARTICLE).json()
    assert before["revision"] == 1
    engine = seeded.engine()
    import_folder(engine, _edited_content(tmp_path))
    engine.dispose()
    took = _wait_until(lambda: c.get(ARTICLE).json()["revision"] == 2, 1.0)
    after = c.get(ARTICLE).json()
    assert [s["heading"] for s in after["sections"]][2] == "Unlearning fear"
    crisis = next(d for d in after["disclaimers"]["top"] if d["key"] == "crisis-resources")
    assert crisis["version"] == 2 and "988 now" in crisis["text"]
    assert took < 1.0


def test_every_process_serves_a_change_within_a_second(seeded, tmp_path):
    with (
        uvicorn_server(seeded.url, tmp_path / "a.log") as a,
        uvicorn_server(seeded.url, tmp_path / "b.log") as b,
    ):
        for base in (a, b):
            for _ in range(3):
                assert httpx.get(base + ARTICLE).json()["revision"] == 1
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "cli",
                "import-content",
                "--content-dir",
                str(_edited_content(tmp_path)),
            ],
            cwd=PROJECT_ROOT,
            env={**os.environ, "CLINIC_DATABASE_URL": seeded.url},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        took = [
            _wait_until(lambda base=base: httpx.get(base + ARTICLE).json()["revision"] == 2, 1.0)
            for base in (a, b)
        ]
    assert max(took) < 1.0
