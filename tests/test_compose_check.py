"""compose.yaml is checked without Docker (make compose-check): the compose-spec schema, then
the topology rules; each rule catches the mistake it is there for."""

import copy
import sys
from pathlib import Path

import pytest
import yaml

from core.config import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "deploy"))
import compose_check

COMPOSE = yaml.safe_load((PROJECT_ROOT / "compose.yaml").read_text())


def _problems(change) -> list[str]:
    document = copy.deepcopy(COMPOSE)
    change(document)
    return compose_check.schema_problems(document) or compose_check.topology_problems(document)


def test_the_committed_compose_file_passes():
    assert compose_check.check(PROJECT_ROOT / "compose.yaml") == []


def test_the_schema_refuses_what_compose_would_refuse():
    def typo(d):
        d["services"]["api"]["healthcheck"]["intervall"] = "5s"

    assert any("intervall" in p for p in _problems(typo))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["services"]["api"]["environment"].pop("CLINIC_AUTO_MIGRATE"), "AUTO_MIGRATE"),
        (
            lambda d: d["services"]["api"]["environment"].update(
                CLINIC_WEBHOOK_DISPATCHER_ENABLED="true"
            ),
            "DISPATCHER",
        ),
        (lambda d: d["services"]["worker"]["deploy"].update(replicas=1), "replicas"),
        (lambda d: d["services"]["api"]["depends_on"].pop("migrate"), "migrate"),
        (
            lambda d: d["services"]["api"]["healthcheck"].update(test=["CMD", "true"]),
            "/readyz",
        ),
        (lambda d: d["services"]["postgres"].pop("volumes"), "named volume"),
        (
            lambda d: d["services"]["api"]["environment"].update(CLINIC_REDIS_ULR="redis://r"),
            "CLINIC_REDIS_ULR is not a setting",
        ),
        (
            lambda d: d["services"]["worker"]["environment"].update(
                CLINIC_DATA_KEY="dGVzdC1tYXN0ZXIta2V5LW9ubHktZm9yLXN1aXRlISE="
            ),
            "CLINIC_DATA_KEY must come from the environment",
        ),
        (
            lambda d: d["services"]["api"]["environment"].update(
                CLINIC_DATABASE_URL="postgresql://clinic:hunter2@postgres/clinic"
            ),
            "literal password",
        ),
        (lambda d: d["services"]["proxy"].pop("volumes"), "deploy/nginx.conf"),
        (
            lambda d: d["services"]["api"].update(ports=["127.0.0.1:8000-8001:8000"]),
            "api: must publish no port",
        ),
        (
            lambda d: d["services"]["api"]["environment"].update(CLINIC_TRUSTED_PROXIES="[]"),
            "proxy's fixed address",
        ),
    ],
)
def test_each_topology_rule_catches_its_mistake(change, expected):
    problems = _problems(change)
    assert any(expected in p for p in problems), problems


def test_main_reports_and_fails(tmp_path: Path, capsys):
    broken = copy.deepcopy(COMPOSE)
    del broken["services"]["redis"]
    path = tmp_path / "compose.yaml"
    path.write_text(yaml.safe_dump(broken))
    assert compose_check.main([str(path)]) == 1
    assert "no 'redis' service" in capsys.readouterr().out
