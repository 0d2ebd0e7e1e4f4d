"""Red team: the lead intake's group commit attacked over real HTTP, as outside users would.

Each test starts real uvicorn processes over a real database (SQLite, and PostgreSQL when
TEST_DATABASE_URL is set) and checks what the clients were told against what was stored."""

import asyncio
import json
import os
import random
import signal
import socket
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
import pytest
from sqlmodel import Session, col, select

from db.lead_models import ConsultationRequest
from db.webhook_models import WebhookEvent
from tests.conftest import lead_body
from tests.servers import redis_answers, uvicorn_process, uvicorn_servers
from tests.vault_helpers import opened_leads
from tests.waiting import eventually

PATH = "/v1/consultation-requests"


@dataclass
class Sent:
    kind: str
    rid: str
    marker: str | None = None  # the message of a valid lead
    key: str | None = None
    status: int = 0
    lead_id: str | None = None
    replayed: bool = False
    body: dict[str, object] = field(default_factory=dict)


def _valid(marker: str, **changes: object) -> dict[str, object]:
    return lead_body(message=marker, **changes)


async def _flood(bases: list[str], n: int, seed: int) -> list[Sent]:
    rng = random.Random(seed)
    kinds = [
        "valid",
        "valid",
        "valid",
        "keyed_pair",
        "key_conflict",
        "content_invalid",
        "schema_invalid",
        "bad_phone",
        "malformed",
        "wrong_type",
        "huge",
        "honeypot",
    ]
    plans: list[tuple[Sent, bytes, dict[str, str]]] = []
    for i in range(n):
        kind = rng.choice(kinds)
        rid = f"rt-{i}-{uuid.uuid4().hex[:8]}"
        marker = f"marker {uuid.uuid4().hex}"
        headers = {"Content-Type": "application/json", "X-Request-ID": rid}
        if kind == "valid":
            s = Sent(kind, rid, marker, body=_valid(marker))
            plans.append((s, json.dumps(s.body).encode(), headers))
        elif kind == "keyed_pair":
            key = f"pair-{uuid.uuid4().hex}"
            body = _valid(marker)
            for j in range(2):
                s = Sent(kind, f"{rid}-{j}", marker, key, body=body)
                plans.append(
                    (
                        s,
                        json.dumps(body).encode(),
                        {**headers, "X-Request-ID": s.rid, "Idempotency-Key": key},
                    )
                )
        elif kind == "key_conflict":
            key = f"conflict-{uuid.uuid4().hex}"
            for j in range(2):
                m = f"{marker}-{j}"
                s = Sent(kind, f"{rid}-{j}", m, key, body=_valid(m))
                plans.append(
                    (
                        s,
                        json.dumps(s.body).encode(),
                        {**headers, "X-Request-ID": s.rid, "Idempotency-Key": key},
                    )
                )
        elif kind == "content_invalid":  # passes the schema, refused inside the batch
            s = Sent(kind, rid, body=_valid(marker, therapies=["not-a-therapy"]))
            plans.append((s, json.dumps(s.body).encode(), headers))
        elif kind == "schema_invalid":
            s = Sent(kind, rid, body=_valid(marker, email="not an email"))
            plans.append((s, json.dumps(s.body).encode(), headers))
        elif kind == "bad_phone":  # passes the schema, refused inside the batch
            s = Sent(kind, rid, body=_valid(marker, phone="123"))
            plans.append((s, json.dumps(s.body).encode(), headers))
        elif kind == "malformed":
            s = Sent(kind, rid)
            plans.append((s, b'{"first_name": "Ana", ', headers))
        elif kind == "wrong_type":
            s = Sent(kind, rid)
            plans.append(
                (s, json.dumps(_valid(marker)).encode(), {**headers, "Content-Type": "text/plain"})
            )
        elif kind == "huge":
            s = Sent(kind, rid)
            plans.append((s, json.dumps(_valid("x" * 20000)).encode(), headers))
        elif kind == "honeypot":
            s = Sent(kind, rid, marker, body=_valid(marker, website="http://spam.example"))
            plans.append((s, json.dumps(s.body).encode(), headers))
    rng.shuffle(plans)
    # A connection per request: none waits in the pool for a reuse that the server may be
    # closing as idle at that very moment (a race of the client's, not an answer of the app's).
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:

        async def one(i: int, s: Sent, raw: bytes, headers: dict[str, str]) -> Sent:
            r = await client.post(bases[i % len(bases)] + PATH, content=raw, headers=headers)
            s.status = r.status_code
            if r.status_code == 201:
                s.lead_id = r.json()["id"]
                assert r.headers["location"].endswith(s.lead_id)
                s.replayed = r.headers.get("idempotent-replayed") == "true"
            return s

        return await asyncio.gather(*[one(i, *p) for i, p in enumerate(plans)])


EXPECTED = {
    "valid": {201},
    "keyed_pair": {201},
    "key_conflict": {201, 422},
    "content_invalid": {422},
    "schema_invalid": {422},
    "bad_phone": {422},
    "malformed": {400},
    "wrong_type": {415},
    "huge": {413},
    "honeypot": {201},
}


def test_a_mixed_flood_over_two_processes_answers_each_lead_with_its_own_stored_lead(
    seeded, tmp_path
):
    """300-odd requests at once, over two processes: valid leads, retries with one key,
    one key with two bodies, leads the schema or the content refuses, malformed JSON, the
    wrong content type, bodies over the cap, honeypot spam. Every answer is the right status,
    every 201 names a stored lead that holds that very request's message, the event of each
    new lead carries that request's X-Request-ID, and nothing refused is stored."""
    env = {"CLINIC_LEADS_RATE_LIMIT": "none"}
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    # On a loaded machine the flood can outlast uvicorn's 5 s keep-alive: a pooled connection
    # the server closed as idle would then lose the POST sent on it (a client-side ReadError,
    # nothing the app answered). The app's answers are what this test is about.
    keep_alive = ("--timeout-keep-alive", "120")
    with uvicorn_servers(seeded.url, logs, env=env, args=keep_alive) as bases:
        sent = asyncio.run(_flood(bases, 260, seed=20261130))
    wrong = [(s.kind, s.status) for s in sent if s.status not in EXPECTED[s.kind]]
    assert not wrong, wrong
    engine = seeded.engine()
    try:
        stored = {str(lead.id): (lead, personal) for lead, personal in opened_leads(engine)}
        with Session(engine) as session:
            events = {
                e.subject_id: e.request_id
                for e in session.exec(
                    select(WebhookEvent).where(col(WebhookEvent.type).like("%created"))
                )
            }
            spam = set(
                str(i)
                for i in session.exec(
                    select(ConsultationRequest.id).where(col(ConsultationRequest.status) == "spam")
                )
            )
    finally:
        engine.dispose()
    answered = {s.lead_id for s in sent if s.status == 201}
    assert answered == set(stored), "every 201 is stored, and nothing else is"
    for s in sent:
        if s.status != 201:
            continue
        _lead, personal = stored[s.lead_id]  # type: ignore[index]
        assert personal.message == s.marker, (s.kind, "another lead's answer")
        if s.kind == "honeypot":
            assert s.lead_id in spam and s.lead_id not in events
        elif not s.replayed:
            assert events[s.lead_id] == s.rid, (s.kind, "event carries another request's id")
    by_key: dict[str, list[Sent]] = defaultdict(list)
    for s in sent:
        if s.key:
            by_key[s.key].append(s)
    for key, group in by_key.items():
        created = [s for s in group if s.status == 201 and not s.replayed]
        assert len(created) == 1, (key, [(s.status, s.replayed) for s in group])
        if group[0].kind == "key_conflict":
            assert sorted(s.status for s in group) == [201, 422], key
    for log in logs:
        text = log.read_text()
        assert "marker " not in text, "a lead's message reached the logs"
        assert "Diaz" not in text and "555-0132" not in text and "5550132" not in text


def _ok_or_429(r: httpx.Response) -> bool:
    return r.status_code in (201, 422, 400, 415, 429)


async def _one_address_burst(bases: list[str], n: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=200)) as c:
        reqs = []
        for i in range(n):
            base = bases[i % len(bases)]
            if i % 5 == 4:  # an invalid one among them: counted like any other
                body = lead_body(therapies=["not-a-therapy"])
            else:
                body = lead_body(message=f"burst {i}")
            reqs.append(c.post(base + PATH, json=body, headers={"Idempotency-Key": f"b-{i}"}))
        return await asyncio.gather(*reqs)


def test_a_concurrent_burst_from_one_address_gets_no_more_than_its_limit_through_redis(
    seeded, tmp_path
):
    """60 leads at once from one address over two processes sharing Redis, limit 5/minute:
    at most 5 are stored, the rest are 429 (or 422 within the limit), never a 5xx."""
    if not redis_answers():
        pytest.skip("no Redis")
    env = {
        "CLINIC_REDIS_URL": "redis://127.0.0.1:6379/0",
        "CLINIC_RATE_LIMIT_NAMESPACE": f"rt-{uuid.uuid4().hex}",
        "CLINIC_LEADS_RATE_LIMIT": "5/minute;30/day",
    }
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    with uvicorn_servers(seeded.url, logs, env=env) as bases:
        answers = asyncio.run(_one_address_burst(bases, 60))
    statuses = [r.status_code for r in answers]
    assert all(_ok_or_429(r) for r in answers), statuses
    assert sum(1 for s in statuses if s in (201, 422)) <= 5, statuses
    engine = seeded.engine()
    try:
        assert len(opened_leads(engine)) == statuses.count(201) <= 5
    finally:
        engine.dispose()


@dataclass
class Burst:
    """48 clients posting leads until told to stop: the ids answered 201, and every other
    answer."""

    label: str
    created: list[str] = field(default_factory=list)
    other: list[tuple[int, str]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def start(self, base: str) -> None:
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run(base)))
        self.thread.start()
        eventually(lambda: len(self.created) >= 300, 60, "for the first 300 leads")

    def end(self) -> None:
        self.stop.set()
        assert self.thread is not None
        self.thread.join(timeout=60)

    async def _run(self, base: str) -> None:
        async with httpx.AsyncClient(timeout=30) as c:

            async def client(w: int) -> None:
                i = 0
                while not self.stop.is_set():
                    i += 1
                    try:
                        r = await c.post(
                            base + PATH, json=lead_body(message=f"{self.label} {w} {i}")
                        )
                    except httpx.TransportError:
                        return
                    if r.status_code == 201:
                        self.created.append(r.json()["id"])
                    else:
                        self.other.append((r.status_code, r.text[:200]))

            await asyncio.gather(*[client(w) for w in range(48)])


def _stored_ids(db) -> set[str]:
    engine = db.engine()
    try:
        with Session(engine) as session:
            return {str(i) for i in session.exec(select(ConsultationRequest.id))}
    finally:
        engine.dispose()


def test_kill_9_in_the_middle_of_a_burst_loses_no_answered_lead(seeded, tmp_path):
    """A burst of leads; the server is SIGKILLed while batches are being written. Every lead
    that was answered 201 is in the database afterwards (a 201 means committed)."""
    burst = Burst("k9")
    env = {"CLINIC_LEADS_RATE_LIMIT": "none"}
    with uvicorn_process(seeded.url, tmp_path / "server.log", env=env) as (base, pid):
        burst.start(base)
        os.kill(pid, signal.SIGKILL)
        burst.end()
    assert len(burst.created) >= 300
    assert all(status < 500 for status, _ in burst.other), burst.other[:5]
    missing = set(burst.created) - _stored_ids(seeded)
    assert not missing, f"{len(missing)} of {len(burst.created)} answered leads are not stored"


def test_sigterm_in_the_middle_of_a_burst_answers_or_refuses_cleanly(seeded, tmp_path):
    """SIGTERM (a deploy) while leads are being written: each request is answered 201 (and
    stored) or never answered, no 5xx, and every 201 is stored."""
    burst = Burst("term")
    env = {"CLINIC_LEADS_RATE_LIMIT": "none"}
    with uvicorn_process(seeded.url, tmp_path / "server.log", env=env) as (base, pid):
        burst.start(base)
        os.kill(pid, signal.SIGTERM)
        assert burst.thread is not None
        burst.thread.join(timeout=60)
        burst.end()
    assert not burst.other, burst.other[:5]
    assert set(burst.created) <= _stored_ids(seeded)
    log = (tmp_path / "server.log").read_text()
    assert "Traceback" not in log, log[-3000:]


def _stored_messages(db) -> list[str | None]:
    engine = db.engine()
    try:
        return [personal.message for _, personal in opened_leads(engine)]
    finally:
        engine.dispose()


def _abort_after(port: int, head: bytes, sent: bytes) -> None:
    s = socket.create_connection(("127.0.0.1", port))
    try:
        s.sendall(head + sent)
        time.sleep(0.5)  # the server has read what was sent
    finally:
        s.close()  # the request was never finished
    time.sleep(1.0)  # whatever the server does with it, it has done


def test_a_chunked_upload_aborted_before_its_last_chunk_stores_no_lead(seeded, tmp_path):
    """A client streams its lead (Transfer-Encoding: chunked) and goes away before the last
    chunk: the request was never complete, so nothing may be acted upon, exactly as when a
    body with a Content-Length is cut short (a 400, nothing stored). RequestGuardMiddleware
    read the chunks ahead of the app and once handed them over as if they were the whole
    body, and the lead was stored."""
    env = {"CLINIC_LEADS_RATE_LIMIT": "none"}
    with uvicorn_servers(seeded.url, [tmp_path / "server.log"], env=env) as [base]:
        port = urlsplit(base).port
        assert port is not None
        cut = json.dumps(lead_body(message="cut short with a length")).encode()
        _abort_after(
            port,
            b"POST /v1/consultation-requests HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (len(cut) + 10),
            cut,
        )
        chunk = json.dumps(lead_body(message="aborted chunked upload")).encode()
        _abort_after(
            port,
            b"POST /v1/consultation-requests HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"%x\r\n%s\r\n" % (len(chunk), chunk),  # no terminating 0-size chunk
        )
    stored = _stored_messages(seeded)
    assert "cut short with a length" not in stored
    assert "aborted chunked upload" not in stored, "an aborted request was stored as a lead"
