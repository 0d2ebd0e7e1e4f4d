"""The API against the framework floor, side by side: `.venv/bin/python -m bench.run [--long]`.

Starts the app (uvicorn, loopback, fresh SQLite with the demo content) and a bare Starlette
baseline that answers with the very same bytes, and runs wrk against each in turn, scenario by
scenario. Prints req/s and p50/p99 for both and the ratio app/baseline, then the same for
10 000 generated articles, and the server's resident memory before and after."""

import argparse
import base64
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
from sqlmodel import Session, func, select

from bench.generate_articles import WORDS, generate
from core.config import PROJECT_ROOT
from db.lead_models import ConsultationRequest
from db.migrate import head_revision, upgrade
from db.session import make_engine, unit_of_work
from services.content_import import import_content
from tests.conftest import lead_body
from tests.servers import uvicorn_process

SERVER_ARGS = ("--no-access-log", "--log-level", "warning")
APP_ENV = {"CLINIC_LEADS_RATE_LIMIT": "none", "CLINIC_LOG_LEVEL": "WARNING"}
ARTICLE = "/v1/articles/iv-ketamine-for-ptsd"
GROWTH_ARTICLES = 10_000
POST_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[%s]]
math.randomseed(os.time())
local prefix = tostring(math.random(1, 1000000000))
local n = 0
request = function()
  n = n + 1
  wrk.headers["Idempotency-Key"] = prefix .. "-" .. n
  return wrk.format()
end
"""
HEADER_SCRIPT = 'wrk.headers["If-None-Match"] = %s\n'
COLD_SEARCH_SCRIPT = """
local words = {%s}
math.randomseed(os.time())
request = function()
  local q = words[math.random(#words)] .. "+" .. words[math.random(#words)]
  return wrk.format("GET", "/v1/articles?q=" .. q)
end
"""


@dataclass
class Result:
    """What wrk measured."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


def ensure_wrk() -> str:
    """wrk from Debian, installed when missing."""
    found = shutil.which("wrk")
    if found:
        return found
    print("installing wrk (apt-get) …", flush=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "wrk"], check=False, stdout=subprocess.DEVNULL
    )
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "update", "-qq"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL
        )
    return shutil.which("wrk") or "wrk"


def _ms(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    if match is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    value, unit = match.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def run_wrk(wrk: str, url: str, seconds: int, script: Path | None) -> Result:
    """wrk -t1 -c32 with the latency distribution."""
    cmd = [wrk, "-t1", "-c32", f"-d{seconds}s", "--latency", url]
    if script:
        cmd[1:1] = ["-s", str(script)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    if "Latency Distribution" not in out:
        raise RuntimeError(f"wrk printed no latency distribution:\n{out}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    return Result(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        p50_ms=_ms(re.search(r"50%\s+(\S+)", out).group(1)),  # type: ignore[union-attr]
        p99_ms=_ms(re.search(r"99%\s+(\S+)", out).group(1)),  # type: ignore[union-attr]
        requests=int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
        errors=(int(errors.group(1)) if errors else 0)
        + (sum(int(x) for x in socket_errors.groups()) if socket_errors else 0),
    )


def rss_mib(pid: int) -> float:
    """Resident memory of a process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def record_fixtures(base: str, paths: list[str], target: Path) -> dict[str, str]:
    """Fetch each GET once from the app; the baseline will serve exactly these bytes."""
    fixtures = {}
    etags = {}
    with httpx.Client(base_url=base) as client:
        for path in paths:
            r = client.get(path)
            r.raise_for_status()
            keep = {
                k: v for k, v in r.headers.items() if k not in ("content-length", "date", "server")
            }
            fixtures[path] = {"headers": keep, "body": base64.b64encode(r.content).decode()}
            etags[path] = r.headers["etag"]
    target.write_bytes(orjson.dumps(fixtures))
    return etags


PATHS = [ARTICLE, "/v1/articles?therapy=iv-ketamine", "/v1/articles?q=fear"]


@contextmanager
def app_and_floor(url: str, tmp: Path, name: str) -> Iterator[tuple[str, str, int, dict[str, str]]]:
    """The API and, beside it, the baseline serving the API's own bytes for PATHS; yields
    both base URLs, the API's pid and the recorded ETags."""
    fixtures = tmp / f"fixtures-{name}.json"
    with uvicorn_process(url, tmp / f"app-{name}.log", args=SERVER_ARGS, env=APP_ENV) as (
        app,
        pid,
    ):
        etags = record_fixtures(app, PATHS, fixtures)
        with uvicorn_process(
            url,
            tmp / f"base-{name}.log",
            app="bench.baseline_app:app",
            args=SERVER_ARGS,
            env={"BENCH_FIXTURES": str(fixtures)},
        ) as (floor, _):
            header()
            yield app, floor, pid, etags


def print_row(name: str, app: Result, floor: Result) -> None:
    """One scenario, app beside baseline."""
    print(
        f"{name:38} {app.rps:9.0f} {app.p50_ms:7.2f} {app.p99_ms:7.2f} | {floor.rps:9.0f} "
        f"{floor.p50_ms:7.2f} {floor.p99_ms:7.2f} | {app.rps / floor.rps:5.2f}"
        + (f"  ({app.errors} errors)" if app.errors else ""),
        flush=True,
    )


def header() -> None:
    """Column titles."""
    print(
        f"{'scenario':38} {'app rps':>9} {'p50 ms':>7} {'p99 ms':>7} | {'base rps':>9} "
        f"{'p50 ms':>7} {'p99 ms':>7} | ratio",
        flush=True,
    )


@dataclass
class Scenario:
    """A name, a path, and an optional wrk script."""

    name: str
    path: str
    script: Path | None = None


def run_scenarios(
    wrk: str, app: str, floor: str, scenarios: list[Scenario], seconds: int, rounds: int
) -> dict[str, tuple[Result, Result]]:
    """Alternate baseline and app for each scenario; keep each side's best round."""
    results = {}
    for s in scenarios:
        best_app: Result | None = None
        best_floor: Result | None = None
        for _ in range(rounds):
            f = run_wrk(wrk, floor + s.path, seconds, s.script)
            a = run_wrk(wrk, app + s.path, seconds, s.script)
            best_floor = f if best_floor is None or f.rps > best_floor.rps else best_floor
            best_app = a if best_app is None or a.rps > best_app.rps else best_app
        assert best_app and best_floor
        print_row(s.name, best_app, best_floor)
        results[s.name] = (best_app, best_floor)
    return results


def growth_database(tmp: Path) -> str:
    """A SQLite file with the demo content and 10 000 generated articles (cached in data/)."""
    cache_dir = PROJECT_ROOT / "data" / "bench"
    cache_dir.mkdir(parents=True, exist_ok=True)
    cached = cache_dir / f"articles-{GROWTH_ARTICLES}-{head_revision()}.db"
    if not cached.exists():
        print(f"generating {GROWTH_ARTICLES} articles (once; cached in {cached}) …", flush=True)
        building = cached.with_suffix(".tmp")
        building.unlink(missing_ok=True)
        url = f"sqlite:///{building}"
        upgrade(url)
        engine = make_engine(url)
        generate(engine, GROWTH_ARTICLES)
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        building.rename(cached)
    target = tmp / "growth.db"
    shutil.copyfile(cached, target)
    return f"sqlite:///{target}"


def main() -> None:
    """Run every scenario and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--long", action="store_true", help="30 s per run, 3 rounds")
    parser.add_argument("--seconds", type=int, default=None)
    args = parser.parse_args()
    seconds = args.seconds or (30 if args.long else 5)
    rounds = 3 if args.long else 1
    wrk = ensure_wrk()
    tmp = Path(tempfile.mkdtemp(prefix="clinic-bench-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    upgrade(url)
    engine = make_engine(url)
    with unit_of_work(engine) as session:
        import_content(session=session, content_dir=PROJECT_ROOT / "content")
    engine.dispose()
    post_script = tmp / "post.lua"
    post_script.write_text(POST_SCRIPT % orjson.dumps(lead_body()).decode())
    print(
        f"wrk -t1 -c32, {seconds} s per run, {rounds} round(s); app = API, base = bare "
        "Starlette serving the same bytes; ratio = app/base req/s\n",
        flush=True,
    )
    with app_and_floor(url, tmp, "demo") as (app, floor, pid, etags):
        not_modified = tmp / "inm.lua"
        not_modified.write_text(HEADER_SCRIPT % orjson.dumps(etags[ARTICLE]).decode())
        rss_before = rss_mib(pid)
        run_scenarios(
            wrk,
            app,
            floor,
            [
                Scenario("GET article by slug", ARTICLE),
                Scenario("GET article, If-None-Match (304)", ARTICLE, not_modified),
                Scenario("GET list ?therapy=iv-ketamine", PATHS[1]),
                Scenario("GET search ?q=fear", PATHS[2]),
            ],
            seconds,
            rounds,
        )
        before = _lead_count(url)
        post = run_scenarios(
            wrk,
            app,
            floor,
            [Scenario("POST consultation request", "/v1/consultation-requests", post_script)],
            seconds,
            rounds,
        )["POST consultation request"][0]
        stored = _lead_count(url) - before
        rss_after = rss_mib(pid)
    print(
        f"\nPOST: wrk counted {post.requests} requests ({post.errors} errors); "
        f"{stored} leads committed"
    )
    print(
        f"server memory (RSS): {rss_before:.1f} MiB before, {rss_after:.1f} MiB after "
        f"({(rss_after / rss_before - 1) * 100:+.1f} %)\n",
        flush=True,
    )
    growth(wrk, tmp, seconds, rounds)


def _lead_count(url: str) -> int:
    engine = make_engine(url)
    with Session(engine) as s:
        n = int(s.exec(select(func.count()).select_from(ConsultationRequest)).one())
    engine.dispose()
    return n


def growth(wrk: str, tmp: Path, seconds: int, rounds: int) -> None:
    """The GET-by-slug, list and search scenarios over 10 000 articles."""
    url = growth_database(tmp)
    cold = tmp / "cold.lua"
    cold.write_text(COLD_SEARCH_SCRIPT % ", ".join(f'"{w}"' for w in WORDS))
    print(f"with {GROWTH_ARTICLES} more articles:", flush=True)
    with app_and_floor(url, tmp, "growth") as (app, floor, _, _etags):
        run_scenarios(
            wrk,
            app,
            floor,
            [
                Scenario("GET article by slug (10k)", ARTICLE),
                Scenario("GET list ?therapy=iv-ketamine (10k)", PATHS[1]),
                Scenario("GET search ?q=fear (10k)", PATHS[2]),
            ],
            seconds,
            rounds,
        )
        cold_result = run_wrk(wrk, app + "/v1/articles", seconds, cold)
        print(
            f"{'GET search, random 2-word q, uncached':38} {cold_result.rps:9.0f} "
            f"{cold_result.p50_ms:7.2f} {cold_result.p99_ms:7.2f} |  (no baseline)",
            flush=True,
        )


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print(f"\ntotal {time.monotonic() - started:.0f} s")
    os._exit(0)
