"""The API against the framework floor, side by side: `.venv/bin/python -m bench.run [--long]`.

Starts the app as users run it (uvicorn, loopback, default log level with its access log on,
fresh SQLite with the demo content) and a floor of bare Starlette routes that answer with the
very same bytes and headers, and runs wrk against each in turn, scenario by scenario. Prints
req/s and p50/p99 for both, the ratio app/floor and the goal beside it; then the lead POST on
PostgreSQL with 1 and 2 workers (when PostgreSQL answers), the same GETs over 10 000 generated
articles and an uncached search, and the server's resident memory before and after."""

import argparse
import base64
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlmodel import Session, func, select

from bench.generate_articles import WORDS, generate
from core.config import PROJECT_ROOT
from db.lead_models import ConsultationRequest
from db.migrate import head_revision, upgrade
from db.session import make_engine, unit_of_work
from services.content.importer import import_content
from tests.conftest import lead_body
from tests.servers import uvicorn_process

# The app runs as `python -m cli serve` runs it: uvicorn's own access log and proxy-header
# handling off (the app writes its own access line at INFO, the default level, and reads
# X-Forwarded-For itself, from trusted proxies only). The floor runs on the same uvicorn
# settings, as cheap as they go: no log at all. The per-address rate limit is off for the app,
# which would answer wrk's one address with 429s.
UVICORN_ARGS = ("--no-access-log", "--no-proxy-headers")
FLOOR_ARGS = (*UVICORN_ARGS, "--log-level", "warning")
APP_ENV = {"CLINIC_LEADS_RATE_LIMIT": "none"}
PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ARTICLE = "/v1/articles/iv-ketamine-for-ptsd"
LEADS = "/v1/consultation-requests"
POST_GOAL = ">= 0.50, p99 < 100 ms"
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
        # Lines of the latency distribution: "     99%    4.12ms" (a stdev column such as
        # "95.99%" ends in "99%" too).
        p50_ms=_ms(re.search(r"(?m)^\s+50%\s+(\S+)", out).group(1)),  # type: ignore[union-attr]
        p99_ms=_ms(re.search(r"(?m)^\s+99%\s+(\S+)", out).group(1)),  # type: ignore[union-attr]
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
    """Fetch each GET once from the app, asked as wrk asks (no Accept-Encoding: the identity
    body); the baseline will serve exactly these bytes."""
    fixtures = {}
    etags = {}
    with httpx.Client(base_url=base, headers={"Accept-Encoding": "identity"}) as client:
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
def app_and_floor(
    url: str, tmp: Path, name: str, workers: int = 1
) -> Iterator[tuple[str, str, int, dict[str, str]]]:
    """The API and, beside it, the floor serving the API's own bytes for PATHS (both with
    `workers` processes); yields both base URLs, the API's pid and the recorded ETags."""
    fixtures = tmp / f"fixtures-{name}.json"
    more = ("--workers", str(workers)) if workers > 1 else ()
    app_args = UVICORN_ARGS + more
    with uvicorn_process(url, tmp / f"app-{name}.log", args=app_args, env=APP_ENV) as (app, pid):
        etags = record_fixtures(app, PATHS, fixtures)
        with uvicorn_process(
            url,
            tmp / f"base-{name}.log",
            app="bench.baseline_app:app",
            args=FLOOR_ARGS + more,
            env={"BENCH_FIXTURES": str(fixtures)},
        ) as (floor, _):
            header()
            yield app, floor, pid, etags


def print_row(name: str, app: Result, floor: Result, goal: str, ratio: float | None = None) -> None:
    """One scenario, app beside floor, the ratio (by default app/floor) and the goal."""
    ratio = app.rps / floor.rps if ratio is None else ratio
    print(
        f"{name:38} {app.rps:9.0f} {app.p50_ms:7.2f} {app.p99_ms:7.2f} | {floor.rps:9.0f} "
        f"{floor.p50_ms:7.2f} {floor.p99_ms:7.2f} | {ratio:5.2f} | {goal}"
        + (f"  ({app.errors} errors)" if app.errors else ""),
        flush=True,
    )


def header() -> None:
    """Column titles."""
    print(
        f"{'scenario':38} {'app rps':>9} {'p50 ms':>7} {'p99 ms':>7} | {'floor rps':>9} "
        f"{'p50 ms':>7} {'p99 ms':>7} | ratio | goal",
        flush=True,
    )


@dataclass
class Scenario:
    """A name, a path, and an optional wrk script."""

    name: str
    path: str
    script: Path | None = None
    goal: str = ""


@dataclass
class Measured:
    """One scenario: each side's median run, the median ratio, and what every app run did."""

    app: Result
    floor: Result
    ratio: float
    app_requests: int
    app_errors: int


def run_scenarios(
    wrk: str, app: str, floor: str, scenarios: list[Scenario], seconds: int, rounds: int
) -> dict[str, Measured]:
    """Run floor and app back to back, `rounds` pairs per scenario; print each side's median
    run and the median of the pairs' ratios. A pair shares the machine's mood (a busy spell
    of this shared 2-core machine slows both), so its ratio varies less than either figure."""
    results = {}
    for s in scenarios:
        pairs = []
        for _ in range(rounds):
            f = run_wrk(wrk, floor + s.path, seconds, s.script)
            a = run_wrk(wrk, app + s.path, seconds, s.script)
            pairs.append((a, f))
        measured = Measured(
            app=_median([a for a, _ in pairs]),
            floor=_median([f for _, f in pairs]),
            ratio=statistics.median(a.rps / f.rps for a, f in pairs),
            app_requests=sum(a.requests for a, _ in pairs),
            app_errors=sum(a.errors for a, _ in pairs),
        )
        print_row(s.name, measured.app, measured.floor, s.goal, measured.ratio)
        results[s.name] = measured
    return results


def _median(runs: list[Result]) -> Result:
    return sorted(runs, key=lambda r: r.rps)[len(runs) // 2]


def growth_database(tmp: Path) -> str:
    """A SQLite file with the demo content and 10 000 generated articles (cached in data/)."""
    cache_dir = PROJECT_ROOT / "data" / "bench"
    cache_dir.mkdir(parents=True, exist_ok=True)
    cached = cache_dir / f"articles-{GROWTH_ARTICLES}-{head_revision()}.db"
    older = sorted(cache_dir.glob(f"articles-{GROWTH_ARTICLES}-*.db"))
    if not cached.exists():
        building = cached.with_suffix(".tmp")
        building.unlink(missing_ok=True)
        url = f"sqlite:///{building}"
        if older:  # migrating an earlier revision's file is minutes faster than generating
            print(f"migrating {older[-1].name} to {cached.name} …", flush=True)
            shutil.copyfile(older[-1], building)
            upgrade(url)
        else:
            print(f"generating {GROWTH_ARTICLES} articles (once; cached in {cached}) …")
            upgrade(url)
            engine = make_engine(url)
            generate(engine, GROWTH_ARTICLES)
            engine.dispose()
        engine = make_engine(url)
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
    parser.add_argument("--long", action="store_true", help="30 s per run")
    parser.add_argument("--seconds", type=int, default=None, help="per run (default 3)")
    parser.add_argument("--rounds", type=int, default=None, help="floor/app pairs (default 3)")
    parser.add_argument(
        "--only",
        choices=("get", "post", "growth"),
        help="one part: the demo GETs, the lead POSTs (SQLite and PostgreSQL), or 10k articles",
    )
    parser.add_argument(
        "--leads-rate-limit",
        default="none",
        help="CLINIC_LEADS_RATE_LIMIT for the app (default none: wrk is one address); a limit "
        "wrk never reaches, e.g. 100000000/minute, measures admission as production runs it",
    )
    args = parser.parse_args()
    APP_ENV["CLINIC_LEADS_RATE_LIMIT"] = args.leads_rate_limit
    parts = {args.only} if args.only else {"get", "post", "growth"}
    seconds = args.seconds or (30 if args.long else 3)
    rounds = args.rounds or 3
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
        f"wrk -t1 -c32, {seconds} s per run, {rounds} floor/app pairs per scenario; app = API, "
        "floor = bare Starlette serving the same bytes; figures: each side's median run; "
        "ratio: the median of the pairs' app/floor req/s\n",
        flush=True,
    )
    if parts & {"get", "post"}:
        demo(wrk, url, tmp, post_script, parts, seconds, rounds)
    if "post" in parts:
        postgres(wrk, tmp, post_script, seconds, rounds)
    if "growth" in parts:
        growth(wrk, tmp, seconds, rounds)


def demo(
    wrk: str, url: str, tmp: Path, post_script: Path, parts: set[str], seconds: int, rounds: int
) -> None:
    """The GETs and the SQLite POST over the demo content."""
    with app_and_floor(url, tmp, "demo") as (app, floor, pid, etags):
        not_modified = tmp / "inm.lua"
        not_modified.write_text(HEADER_SCRIPT % orjson.dumps(etags[ARTICLE]).decode())
        rss_before = rss_mib(pid)
        if "get" in parts:
            run_scenarios(
                wrk,
                app,
                floor,
                [
                    Scenario("GET article by slug", ARTICLE, goal=">= 0.90"),
                    Scenario("GET article, If-None-Match (304)", ARTICLE, not_modified, ">= 0.95"),
                    Scenario("GET list ?therapy=iv-ketamine", PATHS[1], goal=">= 0.80"),
                    Scenario("GET search ?q=fear", PATHS[2]),
                ],
                seconds,
                rounds,
            )
            sizes = wire_bytes(app)
            print(
                "\narticle bytes on the wire: "
                + ", ".join(f"{coding} {size:,}" for coding, size in sizes.items())
                + " | goal <= 6,000\n",
                flush=True,
            )
        if "post" not in parts:
            return
        before = _lead_count(url)
        post = run_scenarios(
            wrk,
            app,
            floor,
            [Scenario("POST lead, SQLite, 1 process", LEADS, post_script, POST_GOAL)],
            seconds,
            rounds,
        )["POST lead, SQLite, 1 process"]
        stored = _lead_count(url) - before
        rss_after = rss_mib(pid)
    print(
        f"\nPOST: wrk counted {post.app_requests} requests to the app over {rounds} runs "
        f"({post.app_errors} errors); {stored} leads committed"
    )
    print(
        f"server memory (RSS): {rss_before:.1f} MiB before, {rss_after:.1f} MiB after "
        f"({(rss_after / rss_before - 1) * 100:+.1f} %)\n",
        flush=True,
    )


def wire_bytes(app: str) -> dict[str, int]:
    """The article's size on the wire in each encoding, from the running API."""
    with httpx.Client(base_url=app) as client:
        return {
            coding: int(
                client.get(ARTICLE, headers={"Accept-Encoding": coding}).headers["content-length"]
            )
            for coding in ("identity", "gzip", "br")
        }


@contextmanager
def postgres_database() -> Iterator[str | None]:
    """A fresh PostgreSQL database beside BENCH_POSTGRES_URL's, dropped afterwards (None
    when PostgreSQL does not answer)."""
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"clinic_bench_{os.getpid()}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
    except Exception as exc:
        print(f"PostgreSQL does not answer ({type(exc).__name__}); skipping its rows\n")
        admin.dispose()
        yield None
        return
    try:
        yield str(make_url(PG_URL).set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


def postgres(wrk: str, tmp: Path, post_script: Path, seconds: int, rounds: int) -> None:
    """The lead POST on PostgreSQL with one uvicorn worker, then two."""
    with postgres_database() as url:
        if url is None:
            return
        upgrade(url)
        engine = make_engine(url)
        with unit_of_work(engine) as session:
            import_content(session=session, content_dir=PROJECT_ROOT / "content")
        engine.dispose()
        rps = {}
        for workers in (1, 2):
            with app_and_floor(url, tmp, f"pg-{workers}", workers=workers) as (app, floor, _, _e):
                name = f"POST lead, PostgreSQL, {workers} worker(s)"
                scenario = Scenario(name, LEADS, post_script, POST_GOAL)
                result = run_scenarios(wrk, app, floor, [scenario], seconds, rounds)
                rps[workers] = result[name].app.rps
        print(
            f"2 workers / 1 worker: {rps[2] / rps[1]:.2f} | goal >= 1.30 (2 cores shared with"
            " wrk and PostgreSQL)\n",
            flush=True,
        )


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
                Scenario("GET article by slug (10k)", ARTICLE, goal=">= 0.90"),
                Scenario("GET list ?therapy=iv-ketamine (10k)", PATHS[1], goal=">= 0.80"),
                Scenario("GET search ?q=fear (10k)", PATHS[2]),
            ],
            seconds,
            rounds,
        )
        cold_result = run_wrk(wrk, app + "/v1/articles", seconds, cold)
        print(
            f"{'GET search, random 2-word q, uncached':38} {cold_result.rps:9.0f} "
            f"{cold_result.p50_ms:7.2f} {cold_result.p99_ms:7.2f} |  (no floor: every query"
            " differs) | >= 300 req/s, p99 < 50 ms",
            flush=True,
        )


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print(f"\ntotal {time.monotonic() - started:.0f} s")
    os._exit(0)
