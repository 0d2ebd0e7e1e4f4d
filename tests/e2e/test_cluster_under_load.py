"""The scale-out topology as processes (the Procfile's commands, compose.yaml's settings) under
load and kill -9: PostgreSQL, Redis, the one-shot migrate job, the API as uvicorn --workers 2
behind one port, 2 webhook workers, a receiver verifying Standard Webhooks signatures.

2,000 leads from 32 concurrent clients, each with its own Idempotency-Key (and, through
X-Forwarded-For from a trusted proxy, its own client address), every tenth key sent again;
midway one API worker process and one webhook worker are killed with SIGKILL and come back.
Afterwards every 201 has exactly one lead, every lead its outbox event, every event reached the
receiver (exactly once by webhook-id), and a client over the rate limit was refused by both API
processes (the limit lives in Redis). Run with `-s` to see the figures."""

import asyncio
import contextlib
import os
import shlex
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from honcho.environ import parse_procfile
from prometheus_client.multiprocess import MultiProcessCollector
from sqlmodel import Session, select

from core.config import PROJECT_ROOT
from db.lead_models import ConsultationRequest, IdempotencyRecord
from db.webhook_models import WebhookDelivery, WebhookEvent
from tests.conftest import DEMO_CONTENT, PG_URL, lead_body
from tests.databases import PostgresDatabases
from tests.servers import ServerProcess, kill_group, redis_answers, serving
from tests.waiting import eventually, eventually_async
from tests.webhook_receiver import Receiver, serve_receiver

LEADS = 2000
CLIENTS = 32
REPLAY_EVERY = 10  # every tenth key is sent again after its 201
KILL_AFTER = LEADS // 2
OVER_LIMIT_IP = "203.0.113.77"  # one fixed client address (documentation range)
CREATED = "consultation_request.created"

pytestmark = [
    pytest.mark.skipif(PG_URL is None, reason="the cluster needs PostgreSQL (TEST_DATABASE_URL)"),
    pytest.mark.skipif(not redis_answers(), reason="the cluster needs Redis on 127.0.0.1:6379"),
]


def _procfile() -> dict[str, str]:
    """The Procfile's commands: what `make cluster` runs is what this test runs."""
    return dict(parse_procfile((PROJECT_ROOT / "Procfile").read_text()).processes)


def _argv(command: str, port: int = 0) -> list[str]:
    words = shlex.split(command.replace("$PORT", str(port)))
    return [sys.executable if words[0] == "python" else words[0], *words[1:]]


def _client_ip(index: int) -> str:
    """A /64 of its own per key (the limit counts IPv6 clients per /64)."""
    return f"2001:db8:{index >> 16:x}:{index & 0xFFFF:x}::1"


@dataclass
class Tally:
    """What the clients saw."""

    ids: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # key -> lead ids
    sent_at: dict[str, float] = field(default_factory=dict)  # lead id -> first POST of its key
    statuses: Counter[int] = field(default_factory=Counter)
    transport_errors: int = 0
    in_flight_409: int = 0
    replays: int = 0
    over_limit: Counter[int] = field(default_factory=Counter)
    done: int = 0


async def _post_until_answered(
    http: httpx.AsyncClient, tally: Tally, key: str, ip: str, body: dict[str, object]
) -> httpx.Response:
    """POST a lead; on a lost connection (the kill) or 409 (still in flight) send it again with
    the SAME Idempotency-Key, so it is stored once whatever happened to the first try."""
    headers = {"Idempotency-Key": key, "X-Forwarded-For": ip}
    for attempt in range(8):
        try:
            response = await http.post("/v1/consultation-requests", json=body, headers=headers)
        except httpx.TransportError:
            tally.transport_errors += 1
        else:
            if response.status_code != 409:
                return response
            tally.in_flight_409 += 1
        await asyncio.sleep(0.1 * (attempt + 1))
    raise AssertionError(f"key {key} got no answer in 8 attempts")


async def _load_client(http: httpx.AsyncClient, queue: asyncio.Queue[int], tally: Tally) -> None:
    while not queue.empty():
        index = queue.get_nowait()
        key, ip = f"load-{index}", _client_ip(index)
        body = lead_body(email=f"load-{index}@example.com")
        started = time.monotonic()
        response = await _post_until_answered(http, tally, key, ip, body)
        tally.statuses[response.status_code] += 1
        if response.status_code == 201:
            lead_id = response.json()["id"]
            tally.ids[key].add(lead_id)
            tally.sent_at.setdefault(lead_id, started)
            if index % REPLAY_EVERY == 0:
                again = await _post_until_answered(http, tally, key, ip, body)
                assert again.status_code == 201, again.text
                assert again.headers.get("idempotent-replayed") == "true"
                tally.ids[key].add(again.json()["id"])
                tally.replays += 1
        tally.done += 1


def _per_process(folder: Path, sample: str, **labels: str) -> dict[int, float]:
    """A counter's value in each API process (prometheus-client writes one file per pid)."""
    values: dict[int, float] = {}
    for path in folder.glob("counter_*.db"):
        pid = int(path.stem.split("_")[1])
        for metric in MultiProcessCollector.merge([str(path)], accumulate=True):
            for s in metric.samples:
                if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()):
                    values[pid] = values.get(pid, 0.0) + s.value
    return values


async def _over_limit_client(base: str, tally: Tally, metrics: Path) -> set[int]:
    """One address, fresh connections: POST until both API processes have refused it."""
    refused_by: set[int] = set()
    async with httpx.AsyncClient(
        base_url=base, timeout=30, limits=httpx.Limits(max_keepalive_connections=0)
    ) as http:
        for n in range(400):
            key = f"over-{n}"
            response = await _post_until_answered(http, tally, key, OVER_LIMIT_IP, lead_body())
            tally.over_limit[response.status_code] += 1
            if response.status_code == 201:
                tally.ids[key].add(response.json()["id"])
            elif response.status_code == 429:
                refused = _per_process(metrics, "clinic_leads_total", outcome="rate_limited")
                refused_by = {pid for pid, count in refused.items() if count > 0}
                if len(refused_by) >= 2:
                    break
            await asyncio.sleep(0.02)
    return refused_by


def _api_children(supervisor: int) -> set[int]:
    """uvicorn's worker processes (spawned children of its supervisor)."""
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    workers = set()
    for pid in map(int, children):
        try:
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                workers.add(pid)
        except OSError:
            continue
    return workers


class Cluster:
    """The processes of the topology, each in a process group of its own."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.commands = _procfile()
        self.workers: list[subprocess.Popen[bytes]] = []
        self.api = ServerProcess(
            lambda port: _argv(self.commands["api"], port),
            env={**env, "PROMETHEUS_MULTIPROC_DIR": str(logs / "metrics")},
            log_path=logs / "api.log",
            ready_path="/readyz",
            new_session=True,
        )

    def run_once(self, *args: str) -> None:
        """A one-shot job (the compose `migrate` service)."""
        done = subprocess.run(
            [sys.executable, "-m", "cli", *args],
            cwd=PROJECT_ROOT,
            env=self.env,
            capture_output=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        self.last_output = done.stdout.decode()

    def start_worker(self) -> subprocess.Popen[bytes]:
        with (self.logs / f"worker{len(self.workers)}.log").open("ab") as log:
            proc = subprocess.Popen(
                _argv(self.commands["worker"]),
                cwd=PROJECT_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.workers.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.workers:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=15)
            kill_group(proc.pid)


async def _chaos(cluster: Cluster, tally: Tally, report: dict[str, object]) -> None:
    """Midway: SIGKILL one API worker process and one webhook worker; bring them back."""
    await eventually_async(lambda: tally.done >= KILL_AFTER, 600, "for the load to reach the kill")
    assert cluster.api.proc is not None
    supervisor = cluster.api.proc.pid
    before = _api_children(supervisor)
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    worker = cluster.workers[0]
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    cluster.start_worker()  # the worker's restart is ours; uvicorn's supervisor restarts its own
    report.update(killed_api=victim, killed_worker=worker.pid, killed_at=tally.done)
    report["api_before"] = before
    await eventually_async(
        lambda: len(_api_children(supervisor) - {victim}) >= 2,
        60,
        "for uvicorn to restart its killed worker",
    )


async def _load(cluster: Cluster, base: str, metrics: Path, report: dict[str, object]) -> Tally:
    tally = Tally()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(LEADS):
        queue.put_nowait(index)
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:
        results = await asyncio.gather(
            _chaos(cluster, tally, report),
            _over_limit_client(base, tally, metrics),
            *[_load_client(http, queue, tally) for _ in range(CLIENTS)],
        )
    report["refused_by"] = results[1]
    return tally


def _stored(url: str) -> tuple[set[str], dict[str, str], list[WebhookEvent], list[str]]:
    """Lead ids, lead id by Idempotency-Key, lead-created events, delivery statuses."""
    from db.session import make_engine

    engine = make_engine(url)
    with Session(engine) as s:
        leads = {str(i) for i in s.exec(select(ConsultationRequest.id))}
        keys = {r.key: str(r.lead_id) for r in s.exec(select(IdempotencyRecord))}
        events = list(s.exec(select(WebhookEvent).where(WebhookEvent.type == CREATED)))
        statuses = list(s.exec(select(WebhookDelivery.status)))
    engine.dispose()
    return leads, keys, events, statuses


def _percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def test_cluster_under_load_and_kill_9(tmp_path):
    assert PG_URL is not None
    databases = PostgresDatabases(PG_URL, DEMO_CONTENT)
    db = databases.take("empty", tmp_path)
    (tmp_path / "metrics").mkdir()
    env = {
        **os.environ,
        "CLINIC_DATABASE_URL": db.url,
        "CLINIC_REDIS_URL": "redis://127.0.0.1:6379/0",
        "CLINIC_RATE_LIMIT_NAMESPACE": f"cluster-{uuid.uuid4().hex}",
        "CLINIC_LEADS_RATE_LIMIT": "5/minute",
        "CLINIC_TRUSTED_PROXIES": '["127.0.0.1/32"]',
        "CLINIC_AUTO_MIGRATE": "false",
        "CLINIC_WEBHOOK_DISPATCHER_ENABLED": "false",
        "CLINIC_METRICS_ENABLED": "true",
        "CLINIC_WEBHOOK_ALLOW_PRIVATE_URLS": "true",
        "CLINIC_WEBHOOK_TIMEOUT_SECONDS": "5",
        "CLINIC_WEBHOOK_LEASE_MARGIN_SECONDS": "1",
        "CLINIC_WEBHOOK_POLL_SECONDS": "0.2",
        "CLINIC_WEBHOOK_RETRY_SCHEDULE": "[0.5, 1, 2, 4, 8]",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    cluster = Cluster(env, tmp_path)
    report: dict[str, object] = {}
    started = time.monotonic()
    try:
        cluster.run_once("migrate")
        cluster.run_once("import-content")
        cluster.run_once("create-api-key", "--name", "load test", "--scopes", "webhooks:manage")
        token = cluster.last_output.strip().splitlines()[-1]
        with serve_receiver(Receiver()) as receiver, serving([cluster.api]) as [base]:
            endpoint = httpx.post(
                f"{base}/v1/admin/webhook-endpoints",
                headers={"Authorization": f"Bearer {token}"},
                json={"url": receiver.url, "event_types": [CREATED], "payload_mode": "thin"},
                timeout=30,
            )
            assert endpoint.status_code == 201, endpoint.text
            receiver.secrets.append(endpoint.json()["secret"])
            for _ in range(2):
                cluster.start_worker()
            load_started = time.monotonic()
            tally = asyncio.run(_load(cluster, base, tmp_path / "metrics", report))
            load_seconds = time.monotonic() - load_started
            leads, keys, events, _ = _stored(db.url)
            expected = {f"msg_{e.id.hex}" for e in events}
            eventually(
                lambda: expected <= receiver.unique().keys(), timeout=90, what="for every event"
            )
            eventually(
                lambda: set(_stored(db.url)[3]) == {"succeeded"},
                timeout=30,
                what="for every delivery to be recorded as succeeded",
            )
            received = list(receiver.received)
            rejected = receiver.rejected
            requests_by_pid = _per_process(tmp_path / "metrics", "clinic_http_requests_total")
            assert cluster.api.proc is not None
            # uvicorn's replacement for the killed process (its supervisor may have had to
            # start more than one: it kills a child that is slow to answer its ping)
            replacements = _api_children(cluster.api.proc.pid) - report["api_before"]  # type: ignore[operator]
            assert len(replacements) == 1, replacements
    finally:
        cluster.api.stop()
        cluster.stop()
        databases.drop(db)
        databases.close()

    # every 201 the clients saw has exactly one lead, and there is no other lead
    answered = {key: ids for key, ids in tally.ids.items() if ids}
    assert all(len(ids) == 1 for ids in answered.values()), "a key answered with two leads"
    assert len(answered) == LEADS + tally.over_limit[201], "a key never got its 201"
    for key, ids in answered.items():
        assert keys[key] == next(iter(ids)), key
    assert {next(iter(ids)) for ids in answered.values()} == leads
    assert tally.statuses == Counter({201: LEADS}), tally.statuses
    # no lead without its outbox event (and none with two)
    subjects = Counter(e.subject_id for e in events)
    assert set(subjects) == leads and set(subjects.values()) == {1}
    # every event reached the receiver, signed; by webhook-id exactly once
    unique = {r.msg_id: r for r in reversed(received)}  # the first receipt of each
    assert rejected == 0
    assert set(unique) == expected and len(received) >= len(expected)
    # the limit is shared: one address was refused by both API processes
    refused_by = report["refused_by"]
    assert isinstance(refused_by, set) and len(refused_by) >= 2, refused_by
    assert 1 <= tally.over_limit[201] <= 5, tally.over_limit

    lags = [
        r.at - tally.sent_at[r.payload["data"]["id"]]
        for r in unique.values()
        if r.payload["data"]["id"] in tally.sent_at
    ]
    print(
        f"\ncluster: uvicorn --workers 2 on one port + 2 webhook workers, PostgreSQL, Redis"
        f"\nleads: {LEADS} keys from {CLIENTS} clients in {load_seconds:.1f} s "
        f"({LEADS / load_seconds:.0f}/s); replays {tally.replays}; "
        f"connection errors retried {tally.transport_errors}; 409 in flight {tally.in_flight_409}"
        f"\nkill -9 after {report['killed_at']} leads: API process {report['killed_api']} "
        f"(uvicorn replaced it: {sorted(replacements)}), webhook worker "
        f"{report['killed_worker']} (restarted)"
        f"\nstored: {len(leads)} leads, {len(events)} {CREATED} events, "
        f"{len(keys)} idempotency keys"
        f"\nreceiver: {len(received)} deliveries, {len(unique)} unique webhook-ids, "
        f"{len(received) - len(unique)} duplicates, {rejected} bad signatures"
        f"\ndelivery latency (receipt - POST sent): p50 {_percentile(lags, 50) * 1000:.0f} ms, "
        f"p99 {_percentile(lags, 99) * 1000:.0f} ms over {len(lags)} leads"
        f"\nover-limit client ({OVER_LIMIT_IP}): {dict(tally.over_limit)}, 429s from API "
        f"processes {sorted(refused_by)}"
        f"\nrequests per API process: "
        f"{ {pid: int(n) for pid, n in sorted(requests_by_pid.items())} }"
        f"\ntotal {time.monotonic() - started:.1f} s"
    )
