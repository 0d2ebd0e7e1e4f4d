"""Operator traps (issue 26, item 6): every setting is listed where operators look for it, the
compose file passes the browser-facing ones through, readiness probes do not fill the log with
Alembic's chatter, a refused local webhook URL names the development switch, and the CLI reads
./.env, names its database, and says an error in one line."""

import logging
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, make_url, text

from core.config import PROJECT_ROOT, Settings, get_settings
from core.crypto import encode_key, new_key
from db.migrate import current_revision, head_revision
from db.session import make_engine, normalize_url
from tests.conftest import PG_URL


def test_env_example_lists_every_setting():
    listed = set(
        re.findall(r"(?m)^#? ?(CLINIC_[A-Z_]+)=", (PROJECT_ROOT / ".env.example").read_text())
    )
    every = {f"CLINIC_{name.upper()}" for name in Settings.model_fields}
    assert every - listed == set()
    assert listed - every == set()  # and nothing that is not a setting


def test_compose_passes_the_browser_facing_settings_through():
    compose = yaml.safe_load((PROJECT_ROOT / "compose.yaml").read_text())
    env = compose["x-app"]["environment"]
    for name in ("CLINIC_CORS_ORIGINS", "CLINIC_PUBLIC_BASE_URL", "CLINIC_NAME"):
        assert name in env and "${" + name in str(env[name]), name


def test_readiness_probes_log_no_alembic_chatter(make_client, caplog):
    c = make_client()
    with caplog.at_level(logging.DEBUG):
        caplog.clear()
        for _ in range(3):
            assert c.get("/readyz").status_code == 200
    assert [r.name for r in caplog.records if r.name.startswith("alembic")] == []


def test_a_refused_local_webhook_url_names_the_development_switch(make_client, issue_key):
    c = make_client(webhook_allow_private_urls=False)  # the default outside tests
    admin = {"Authorization": f"Bearer {issue_key('webhooks:manage', 'leads:read')}"}
    for url in ("http://127.0.0.1:9000/hook", "https://127.0.0.1:9000/hook"):
        r = c.post(
            "/v1/admin/webhook-endpoints",
            json={"url": url},
            headers=admin,
        )
        assert r.status_code == 422, r.text
        [error] = r.json()["errors"]
        assert error["field"].endswith("url")
        assert "CLINIC_WEBHOOK_ALLOW_PRIVATE_URLS=true" in error["message"], error


def _cli_in(folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m cli` as an operator runs it from a folder of their own: no CLINIC_* in the
    environment but those given."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CLINIC_")}
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=folder,
        env={**clean, "PYTHONPATH": str(PROJECT_ROOT), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_cli_reads_dot_env_and_names_its_database_on_stderr(tmp_path: Path):
    (tmp_path / ".env").write_text(f"CLINIC_DATABASE_URL=sqlite:///{tmp_path / 'from-env.db'}\n")
    result = _cli_in(tmp_path, "migrate")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "from-env.db").exists()
    assert f"database: sqlite:///{tmp_path / 'from-env.db'}" in result.stderr
    assert "database:" not in result.stdout  # stdout stays for what scripts read

    # The environment wins over the file.
    elsewhere = f"sqlite:///{tmp_path / 'from-environment.db'}"
    result = _cli_in(tmp_path, "list-api-keys", CLINIC_DATABASE_URL=elsewhere)
    assert f"database: {elsewhere}" in result.stderr


def test_the_app_reads_dot_env_beneath_the_environment(tmp_path: Path, monkeypatch):
    (tmp_path / ".env").write_text("CLINIC_NAME=Clinic From Dotenv\nCLINIC_CACHE_MAX_AGE=7\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CLINIC_NAME", raising=False)
    monkeypatch.setenv("CLINIC_CACHE_MAX_AGE", "9")
    get_settings.cache_clear()
    try:
        assert get_settings().name == "Clinic From Dotenv"
        assert get_settings().cache_max_age == 9
    finally:
        get_settings.cache_clear()
    assert Settings().name != "Clinic From Dotenv"  # a bare Settings() reads no file


def test_the_database_is_named_without_its_password(tmp_path: Path):
    key = encode_key(new_key())
    (tmp_path / ".env").write_text(
        f"CLINIC_DATABASE_URL=postgresql://clinic:s3cret-pw@127.0.0.1:1/clinic\n"
        f"CLINIC_DATA_KEY={key}\n"
    )
    result = _cli_in(tmp_path, "list-reviewers")  # nothing listens on port 1
    assert "database: postgresql://clinic:***@127.0.0.1:1/clinic" in result.stderr
    assert "s3cret-pw" not in result.stderr + result.stdout
    in_query = "postgresql://clinic@127.0.0.1:1/clinic?password=s3cret-pw"
    result = _cli_in(tmp_path, "list-reviewers", CLINIC_DATABASE_URL=in_query)
    assert "password=%2A%2A%2A" in result.stderr or "password=***" in result.stderr
    assert "s3cret-pw" not in result.stderr + result.stdout
    assert key not in result.stderr + result.stdout


def test_postgresql_without_a_data_key_fails_in_one_line_before_connecting(tmp_path: Path):
    for command in (["migrate"], ["serve"], ["import-content"]):
        result = _cli_in(
            tmp_path, *command, CLINIC_DATABASE_URL="postgresql://clinic@127.0.0.1:1/clinic"
        )
        assert result.returncode == 2, result.stderr
        [line] = result.stderr.splitlines()  # no migration ran: it would have failed to connect
        assert line.startswith("configuration error: CLINIC_DATA_KEY is required with PostgreSQL")
        assert "Traceback" not in result.stderr and result.stdout == ""


def test_an_unexpected_cli_error_is_one_line_and_debug_shows_the_traceback(tmp_path: Path):
    env = {
        "CLINIC_DATABASE_URL": "postgresql://clinic@127.0.0.1:1/clinic",
        "CLINIC_DATA_KEY": encode_key(new_key()),
    }
    result = _cli_in(tmp_path, "list-api-keys", **env)
    assert result.returncode == 1
    database, error = result.stderr.splitlines()
    assert database.startswith("database: ")
    assert error.startswith("error: OperationalError: ") and error.endswith("(--debug shows where)")

    debugged = _cli_in(tmp_path, "--debug", "list-api-keys", **env)
    assert debugged.returncode == 1
    assert "Traceback (most recent call last)" in debugged.stderr
    assert "sqlalchemy.exc.OperationalError" in debugged.stderr


def test_migrate_can_create_its_postgresql_database(tmp_path: Path):
    if not PG_URL:
        pytest.skip("needs TEST_DATABASE_URL (CI sets it)")
    name = f"clinic_created_{uuid.uuid4().hex[:12]}"
    url = make_url(normalize_url(PG_URL)).set(database=name).render_as_string(hide_password=False)
    env = {"CLINIC_DATABASE_URL": url, "CLINIC_DATA_KEY": encode_key(new_key())}
    try:
        plain = _cli_in(tmp_path, "migrate", **env)
        assert plain.returncode == 1 and f'database "{name}" does not exist' in plain.stderr
        first = _cli_in(tmp_path, "migrate", "--create-database", **env)
        assert first.returncode == 0, first.stderr
        assert f"created database {name}" in first.stdout
        again = _cli_in(tmp_path, "migrate", "--create-database", **env)
        assert again.returncode == 0 and "created database" not in again.stdout
        engine = make_engine(url)
        try:
            assert current_revision(engine) == head_revision()
        finally:
            engine.dispose()
    finally:
        server = create_engine(
            make_url(normalize_url(PG_URL)).set(database="postgres"), isolation_level="AUTOCOMMIT"
        )
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()
