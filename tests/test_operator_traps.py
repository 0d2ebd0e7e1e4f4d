"""Operator traps (issue 26, item 6): every setting is listed where operators look for it, the
compose file passes the browser-facing ones through, readiness probes do not fill the log with
Alembic's chatter, and a refused local webhook URL names the development switch."""

import logging
import re

import yaml

from core.config import PROJECT_ROOT, Settings


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
