"""CLINIC_ENV=production: the safe defaults of a deployment, and a clear refusal to start
without what several processes need to share."""

import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from core.config import PROJECT_ROOT, Settings
from core.crypto import encode_key, new_key

DEPLOYED = {
    "CLINIC_ENV": "production",
    "CLINIC_DATABASE_URL": "postgresql://clinic@db.internal:5432/clinic",
    "CLINIC_REDIS_URL": "redis://redis.internal:6379/0",
    "CLINIC_DATA_KEY": encode_key(new_key()),
    "CLINIC_NAME": "Clínica Sol de Tucson",
    "CLINIC_PRIVACY_CONTACT": "privacy@clinicasol.example",
    "CLINIC_PUBLIC_BASE_URL": "https://api.clinicasol.example",
}


@pytest.fixture
def environment(monkeypatch):
    for name in list(os.environ):
        if name.startswith("CLINIC_"):
            monkeypatch.delenv(name)

    def set_all(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return set_all


def test_production_leaves_delivery_to_workers_and_migration_to_its_job(environment):
    environment(**DEPLOYED)
    settings = Settings()
    assert settings.webhook_dispatcher_enabled is False
    assert settings.auto_migrate is False
    environment(CLINIC_ENV="development")
    assert Settings().webhook_dispatcher_enabled and Settings().auto_migrate


def test_what_an_operator_sets_wins_over_the_production_defaults(environment):
    environment(**DEPLOYED, CLINIC_WEBHOOK_DISPATCHER_ENABLED="true", CLINIC_AUTO_MIGRATE="1")
    settings = Settings()
    assert settings.webhook_dispatcher_enabled is True and settings.auto_migrate is True


@pytest.mark.parametrize(
    ("unset", "named"),
    [
        ({"CLINIC_DATABASE_URL": "sqlite:///data/clinic.db"}, "CLINIC_DATABASE_URL"),
        ({"CLINIC_REDIS_URL": None}, "CLINIC_REDIS_URL"),
        # An .env line `CLINIC_REDIS_URL=` (red team): counted per process all the same.
        ({"CLINIC_REDIS_URL": " "}, "CLINIC_REDIS_URL"),
        # A key file on one machine's disk is no key for several (red team: a traceback).
        ({"CLINIC_DATA_KEY": None}, "CLINIC_DATA_KEY"),
        # Blank or malformed (red-team recheck: a traceback from deep in start-up).
        ({"CLINIC_DATA_KEY": " "}, "CLINIC_DATA_KEY"),
        ({"CLINIC_DATA_KEY": "notbase64!!"}, "data_key"),
        ({"CLINIC_DATA_KEY": "AAAA"}, "data_key"),
        # The consent a lead agrees to names the clinic: never the demo's name or address.
        ({"CLINIC_NAME": None}, "CLINIC_NAME"),
        ({"CLINIC_NAME": "Example Clinic"}, "CLINIC_NAME"),
        ({"CLINIC_PRIVACY_CONTACT": None}, "CLINIC_PRIVACY_CONTACT"),
        # Links are never written on a Host header a client sent.
        ({"CLINIC_PUBLIC_BASE_URL": None}, "CLINIC_PUBLIC_BASE_URL"),
        ({"CLINIC_PUBLIC_BASE_URL": " "}, "CLINIC_PUBLIC_BASE_URL"),
        ({"CLINIC_PUBLIC_BASE_URL": "ftp://api.clinicasol.example"}, "public_base_url"),
        ({"CLINIC_PUBLIC_BASE_URL": "https://api.clinicasol.example/?x=1"}, "public_base_url"),
        ({"CLINIC_PUBLIC_BASE_URL": "https://api.clinicasol.example?"}, "public_base_url"),
        ({"CLINIC_PUBLIC_BASE_URL": "https://api.clinicasol.example#"}, "public_base_url"),
        ({"CLINIC_PUBLIC_BASE_URL": "https://u:p@api.clinicasol.example"}, "public_base_url"),
    ],
)
def test_production_refuses_what_processes_cannot_share(environment, monkeypatch, unset, named):
    environment(**DEPLOYED)
    for name, value in unset.items():
        if value is None:
            monkeypatch.delenv(name)
        else:
            monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=named):
        Settings()


def test_a_malformed_key_is_not_echoed_in_the_error(environment, monkeypatch):
    """Review finding: pydantic quoted the input, so a near-miss key reached the logs."""
    environment(**DEPLOYED)
    near_miss = "c2VjcmV0LWtleS1tYXRlcmlhbC10aGF0LWlzLXRvby1zaG9ydA=="
    monkeypatch.setenv("CLINIC_DATA_KEY", near_miss)
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert near_miss not in str(caught.value) and "secret" not in str(caught.value)


def test_without_a_rate_limit_production_needs_no_redis(environment, monkeypatch):
    environment(**DEPLOYED, CLINIC_LEADS_RATE_LIMIT="none")
    monkeypatch.delenv("CLINIC_REDIS_URL")
    assert Settings().redis_url is None


def test_the_cli_names_what_is_wrong_without_a_traceback():
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLINIC_")}
    env["CLINIC_ENV"] = "production"
    done = subprocess.run(
        [sys.executable, "-m", "cli", "serve"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "configuration error" in done.stderr
    for name in (
        "CLINIC_DATABASE_URL",
        "CLINIC_REDIS_URL",
        "CLINIC_DATA_KEY",
        "CLINIC_PUBLIC_BASE_URL",
    ):
        assert name in done.stderr
    assert len(done.stderr.splitlines()) == 1  # one line, every problem in it
    assert "Traceback" not in done.stderr + done.stdout
