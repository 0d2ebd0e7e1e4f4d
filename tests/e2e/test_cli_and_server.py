"""The operator commands as an operator runs them, and the API behind a real uvicorn."""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from core.config import PROJECT_ROOT
from db.migrate import current_revision, head_revision
from tests.conftest import DEMO_CONTENT
from tests.content_helpers import demo_articles
from tests.servers import ServerProcess, serving
from tests.waiting import eventually


def _run(args: list[str], database_url: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "CLINIC_DATABASE_URL": database_url, **env},
        timeout=120,
        check=False,
    )


def test_migrate_and_import_are_repeatable(database):
    assert _run(["migrate"], database.url).returncode == 0
    first = _run(["import-content"], database.url)
    assert first.returncode == 0, first.stderr
    articles = demo_articles(DEMO_CONTENT)  # 6 published (3 in Spanish) and 1 draft
    assert f"created {articles}," in first.stdout
    second = _run(["import-content"], database.url)
    assert f"created 0, updated 0, archived 0, unchanged {articles}" in second.stdout


def test_import_rejects_bad_content_naming_file_and_field(migrated, tmp_path: Path):
    bad = tmp_path / "content"
    subprocess.run(["cp", "-r", str(PROJECT_ROOT / "content"), str(bad)], check=True)
    article = bad / "articles" / "nad-plus-iv-therapy.md"
    article.write_text(article.read_text().replace("therapies: [nad-plus]", "therapies: [nad]"))
    result = _run(["import-content", "--content-dir", str(bad)], migrated.url)
    assert result.returncode == 1
    assert "articles/nad-plus-iv-therapy.md: therapies: unknown therapy slug 'nad'" in result.stderr
    assert "nothing was changed" in result.stderr


@pytest.fixture
def served(database, tmp_path):
    """`python -m cli serve` on a loopback port: migrate, import, uvicorn."""
    server = ServerProcess(
        lambda port: [sys.executable, "-m", "cli", "serve", "--port", str(port)],
        env={**os.environ, "CLINIC_DATABASE_URL": database.url},
        log_path=tmp_path / "serve.log",
        ready_path="/readyz",
    )
    with serving([server]) as [base]:
        yield base


def test_serve_command_serves_the_demo_over_real_http(served):
    with httpx.Client(base_url=served) as http:
        r = http.get("/v1/articles/iv-ketamine-for-ptsd")
        assert r.status_code == 200
        body = r.json()
        assert len(body["sections"]) == 8
        keys = {d["key"] for g in body["disclaimers"].values() for d in g}
        assert keys == {"fda-off-label", "risks-and-benefits", "crisis-resources"}
        # Its links are on the port it serves on (no CLINIC_PUBLIC_BASE_URL), and they work.
        src = body["hero_image"]["src"]
        assert src.startswith(f"{served}/media/") and body["seo"]["og_image"]["url"] == src
        assert http.get(src).headers["content-type"] == "image/jpeg"
        cached = http.get(
            "/v1/articles/iv-ketamine-for-ptsd", headers={"If-None-Match": r.headers["etag"]}
        )
        assert cached.status_code == 304 and cached.content == b""
        assert http.get("/v1/articles/ketamine-for-chronic-pain").status_code == 404
        too_big = http.get("/v1/articles?page_size=101")
        assert too_big.status_code == 422
        assert too_big.headers["content-type"] == "application/problem+json"


def test_api_keys_are_printed_once_and_can_be_revoked(seeded, tmp_path):
    with ThreadPoolExecutor() as pool:  # independent commands run side by side
        making = pool.submit(
            _run,
            ["create-api-key", "--name", "CRM", "--scopes", "leads:read,leads:write"],
            seeded.url,
        )
        bad_scopes = pool.submit(
            _run, ["create-api-key", "--name", "x", "--scopes", "everything"], seeded.url
        )
        unknown = pool.submit(_run, ["revoke-api-key", "nope"], seeded.url)
    made = making.result()
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    assert token.startswith("clk_") and " " not in token
    listed = _run(["list-api-keys"], seeded.url)
    assert "CRM" in listed.stdout and token not in listed.stdout
    prefix = token.split("_")[1]
    bad = bad_scopes.result()
    assert bad.returncode == 2 and "scopes" in bad.stderr
    from fastapi.testclient import TestClient

    from main import create_app
    from tests.conftest import settings_for

    with TestClient(create_app(settings_for(seeded.url))) as c:
        auth = {"Authorization": f"Bearer {token}"}
        assert c.get("/v1/admin/consultation-requests", headers=auth).status_code == 200
        assert _run(["revoke-api-key", prefix], seeded.url).returncode == 0
        assert c.get("/v1/admin/consultation-requests", headers=auth).status_code == 401
    assert unknown.result().returncode == 1


def test_export_leads_writes_csv_and_is_audited(seeded, tmp_path):
    from fastapi.testclient import TestClient
    from sqlmodel import Session, select

    from db.lead_models import AuditEntry
    from main import create_app
    from tests.conftest import lead_body, settings_for

    with TestClient(create_app(settings_for(seeded.url, leads_rate_limit="none"))) as c:
        for _ in range(2):
            assert c.post("/v1/consultation-requests", json=lead_body()).status_code == 201
    out = tmp_path / "leads.csv"
    result = _run(["export-leads", "--out", str(out)], seeded.url)
    assert result.returncode == 0, result.stderr
    assert "wrote 2 lead(s)" in result.stdout
    lines = out.read_text().splitlines()
    assert lines[0].startswith("id,created_at,status") and len(lines) == 3
    engine = seeded.engine()
    with Session(engine) as s:
        entry = s.exec(select(AuditEntry).where(AuditEntry.action == "lead.export")).one()
    engine.dispose()
    assert entry.detail == {"filters": {}, "via": "cli"} and entry.api_key_id is None


def test_migrations_started_together_take_turns(database):
    """Replicas that all migrate at start: each waits for the one before (an advisory lock on
    PostgreSQL, an immediate write transaction on SQLite) and finds nothing left to do."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "cli", "migrate"],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "CLINIC_DATABASE_URL": database.url},
        )
        for _ in range(3)
    ]
    results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    assert [code for code, _, _ in results] == [0, 0, 0], [err for _, _, err in results]
    engine = database.engine()
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_serve_leaves_the_schema_alone_when_auto_migrate_is_off(database, tmp_path):
    server = ServerProcess(
        lambda port: [sys.executable, "-m", "cli", "serve", "--port", str(port)],
        env={**os.environ, "CLINIC_DATABASE_URL": database.url, "CLINIC_AUTO_MIGRATE": "false"},
        log_path=tmp_path / "serve.log",
        ready_path="/healthz",
    )
    with serving([server]) as [base]:
        ready = httpx.get(f"{base}/readyz")
    assert ready.status_code == 503
    engine = database.engine()
    try:
        assert current_revision(engine) is None
    finally:
        engine.dispose()


def test_metrics_add_up_every_worker_of_a_multi_worker_server(seeded, tmp_path):
    """`serve --workers 2`: whichever worker answers the scrape, it counts every worker's
    requests (prometheus-client's multiprocess mode)."""
    folder = tmp_path / "metrics"
    folder.mkdir()
    env = {
        **os.environ,
        "CLINIC_DATABASE_URL": seeded.url,
        "CLINIC_AUTO_MIGRATE": "false",
        "CLINIC_METRICS_ENABLED": "true",
        "PROMETHEUS_MULTIPROC_DIR": str(folder),
    }
    server = ServerProcess(
        lambda port: [sys.executable, "-m", "cli", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        log_path=tmp_path / "serve.log",
    )
    sent = 0
    with serving([server]) as [base]:

        def both_workers_answered() -> bool:
            nonlocal sent
            for _ in range(10):  # new connections: the kernel spreads them over both workers
                assert httpx.get(f"{base}/v1/therapies").status_code == 200
                sent += 1
            return len(list(folder.glob("counter_*.db"))) >= 2

        eventually(both_workers_answered, timeout=60, what="for both workers to answer")
        scrapes = [httpx.get(f"{base}/metrics").text for _ in range(4)]
    for text in scrapes:
        line = next(
            line
            for line in text.splitlines()
            if line.startswith("clinic_http_requests_total{") and 'route="/v1/therapies"' in line
        )
        assert float(line.rsplit(" ", 1)[1]) == sent, line
