"""Review of the lead group commit against real uvicorn processes: two processes claiming
overlapping keys, each event's request id, and a rate-limit store that does not answer."""

import asyncio
import socket
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlmodel import Session, col, select

from db.lead_models import ConsultationRequest, IdempotencyRecord
from db.webhook_models import WebhookEvent
from tests.conftest import lead_body
from tests.servers import uvicorn_server, uvicorn_servers


@contextmanager
def silent_redis() -> Iterator[str]:
    """A TCP port that accepts connections and never answers: a Redis that hangs (overloaded,
    or behind a firewall that drops packets after the handshake)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(512)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        listener.close()


async def _post_all(base: str, n: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        return await asyncio.gather(
            *[client.post("/v1/consultation-requests", json=lead_body()) for _ in range(n)]
        )


def test_a_rate_limit_store_that_hangs_does_not_queue_every_lead_behind_it(seeded, tmp_path):
    """A group commit asks the rate limit for every new lead of a batch in turn. A Redis that
    hangs costs one request its timeout (0.5 s, services/leads/rate_limit); the process then counts
    in memory for a while rather than make every lead of every batch wait out the timeout
    (20 timeouts in a row, ~2 leads a second, before the limiter learned to wait)."""
    n = 20
    with (
        silent_redis() as redis_url,
        uvicorn_server(
            seeded.url,
            tmp_path / "server.log",
            env={"CLINIC_REDIS_URL": redis_url, "CLINIC_LEADS_RATE_LIMIT": "1000/minute"},
        ) as base,
    ):
        # One lead first: the process learns that Redis hangs (and warms its pools).
        assert httpx.post(f"{base}/v1/consultation-requests", json=lead_body(), timeout=60)
        started = time.monotonic()
        responses = asyncio.run(_post_all(base, n))
        took = time.monotonic() - started
    assert [r.status_code for r in responses] == [201] * n
    assert took < 5, f"{n} concurrent leads took {took:.1f} s behind a Redis that hangs"


async def _keyed_burst(
    bases: list[str], keys: list[str], per_key: int
) -> list[tuple[str, str, httpx.Response]]:
    async with httpx.AsyncClient(timeout=120) as client:

        async def one(i: int, key: str) -> tuple[str, str, httpx.Response]:
            base = bases[i % len(bases)]
            rid = f"req-{key}-{i}"
            r = await client.post(
                f"{base}/v1/consultation-requests",
                json=lead_body(message=f"Question {key}"),
                headers={"Idempotency-Key": key, "X-Request-ID": rid},
            )
            return key, rid, r

        return await asyncio.gather(
            *[one(i, key) for i in range(per_key) for key in keys]  # interleaved keys
        )


def test_two_processes_claiming_overlapping_keys_store_one_lead_per_key(seeded, tmp_path):
    """Two processes, 30 keys sent 6 times each, interleaved across both: batches in both
    processes claim overlapping sets of keys. Every request is answered 201 (no deadlock, no
    5xx), each key names one lead, only one answer per key is not a replay, and each stored
    lead's event carries the X-Request-ID of the request that created it."""
    keys = [f"overlap-{i:02d}-{uuid.uuid4().hex[:6]}" for i in range(30)]
    env = {"CLINIC_LEADS_RATE_LIMIT": "none"}
    with uvicorn_servers(seeded.url, [tmp_path / "a.log", tmp_path / "b.log"], env=env) as bases:
        answers = asyncio.run(_keyed_burst(bases, keys, 6))
    statuses = [r.status_code for _, _, r in answers]
    assert set(statuses) == {201}, sorted(set(statuses))
    by_key: dict[str, set[str]] = defaultdict(set)
    creators: dict[str, str] = {}
    for key, rid, r in answers:
        by_key[key].add(r.json()["id"])
        if "idempotent-replayed" not in r.headers:
            assert key not in creators, f"two leads were created for {key}"
            creators[key] = rid
    assert all(len(ids) == 1 for ids in by_key.values())
    assert set(creators) == set(keys)
    engine = seeded.engine()
    try:
        with Session(engine) as s:
            leads = s.exec(select(ConsultationRequest.id)).all()
            records = {r.key: str(r.lead_id) for r in s.exec(select(IdempotencyRecord))}
            events = {
                e.subject_id: e.request_id
                for e in s.exec(select(WebhookEvent).where(col(WebhookEvent.type).like("%created")))
            }
    finally:
        engine.dispose()
    assert len(leads) == len(keys)
    for key in keys:
        (lead_id,) = by_key[key]
        assert records[key] == lead_id
        assert events[lead_id] == creators[key]


def test_two_processes_taking_over_an_expired_key_store_one_new_lead(seeded, tmp_path):
    """A key whose record has expired is taken over by exactly one new request, even when
    both processes' batches hold retries of it: one new lead, every other answer replays it."""
    from datetime import timedelta

    from sqlalchemy import update

    from db.models import utcnow
    from db.session import unit_of_work
    from schemas.leads import ConsultationRequestCreate
    from services.leads import intake
    from tests.vault_helpers import ring

    key = f"expired-{uuid.uuid4().hex[:8]}"
    ctx = intake.SubmissionContext(
        client_ip="192.0.2.1", user_agent="t", default_region="US", default_locale="en"
    )
    engine = seeded.engine()
    try:
        with unit_of_work(engine) as session:
            old = intake.intake(
                session=session,
                ring=ring(),
                data=ConsultationRequestCreate.model_validate(lead_body()),
                ctx=ctx,
                idempotency_key=key,
                idempotency_ttl=timedelta(hours=24),
            )
        with unit_of_work(engine) as session:
            session.execute(
                update(IdempotencyRecord)
                .where(col(IdempotencyRecord.key) == key)
                .values(created_at=utcnow() - timedelta(days=30))
            )
    finally:
        engine.dispose()
    env = {"CLINIC_LEADS_RATE_LIMIT": "none"}
    with uvicorn_servers(seeded.url, [tmp_path / "a.log", tmp_path / "b.log"], env=env) as bases:
        answers = asyncio.run(_keyed_burst(bases, [key], 24))
    assert {r.status_code for _, _, r in answers} == {201}
    ids = {r.json()["id"] for _, _, r in answers}
    assert len(ids) == 1 and ids != {str(old.lead_id)}
    assert sum(1 for _, _, r in answers if "idempotent-replayed" not in r.headers) == 1


def _statement(span: dict[str, Any]) -> str:
    return str(span["attributes"].get("db.statement", ""))


def test_a_leads_sql_is_traced_inside_its_requests_trace(seeded, tmp_path):
    """With tracing on, the statements that store a lead belong to the trace of the POST that
    sent it (as before the group commit): the writer task runs in an empty context, so they
    become root spans of traces of their own."""
    from tests.otlp_collector import SERVER, collecting
    from tests.waiting import eventually

    with collecting() as (collector, endpoint):
        env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "OTEL_SERVICE_NAME": "clinic-under-test",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "CLINIC_LEADS_RATE_LIMIT": "none",
        }
        with uvicorn_server(seeded.url, tmp_path / "server.log", env=env) as base:
            lead = httpx.post(f"{base}/v1/consultation-requests", json=lead_body())
            assert lead.status_code == 201
        eventually(
            lambda: any(
                "INSERT INTO consultationrequest" in _statement(s) for s in collector.spans
            ),
            what="the lead's INSERT span",
        )
    (post,) = [
        s["trace"]
        for s in collector.spans
        if s["kind"] == SERVER and s["name"] == "POST /v1/consultation-requests"
    ]
    inserts = [s for s in collector.spans if "INSERT INTO consultationrequest" in _statement(s)]
    assert [s["trace"] for s in inserts] == [post]
