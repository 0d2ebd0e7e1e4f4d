"""Webhook workers as separate processes: a worker killed with SIGKILL loses nothing, and two
workers never send the same delivery twice."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlmodel import Session, col, select

from core.config import PROJECT_ROOT
from db.webhook_models import WebhookAttempt, WebhookDelivery
from schemas.leads import ConsultationRequestCreate
from schemas.webhooks import WebhookEndpointCreate
from services.leads.intake import SubmissionContext, create_lead
from services.webhooks import endpoints
from tests.conftest import lead_body
from tests.servers import free_port
from tests.vault_helpers import ring
from tests.waiting import eventually
from tests.webhook_receiver import Receiver, serve_receiver

CTX = SubmissionContext(
    client_ip="192.0.2.1", user_agent="t", default_region="US", default_locale="en"
)


def _prepare(db, receiver: Receiver, leads: int) -> None:
    """An endpoint for the receiver, then `leads` leads whose events wait in the outbox."""
    engine = db.engine()
    with Session(engine) as s:
        _, secret = endpoints.create(
            session=s,
            data=WebhookEndpointCreate(url=receiver.url),
            allow_private=True,
            ring=ring(),
            actor=None,
        )
        receiver.secrets.append(secret)
        s.commit()
        body = ConsultationRequestCreate.model_validate(lead_body())
        for _ in range(leads):
            create_lead(session=s, ring=ring(), data=body, ctx=CTX)
        s.commit()
    engine.dispose()


# The worker's start line, JSON like every other line it writes (CLINIC_LOG_FORMAT=json).
STARTED = '"logger":"clinic.worker","event":"worker_started"'


def _worker(db, log: Path, **extra: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CLINIC_DATABASE_URL": db.url,
        "CLINIC_WEBHOOK_ALLOW_PRIVATE_URLS": "true",
        "CLINIC_WEBHOOK_TIMEOUT_SECONDS": "2",
        "CLINIC_WEBHOOK_LEASE_MARGIN_SECONDS": "1",
        "CLINIC_WEBHOOK_BATCH_SIZE": "5",
        "CLINIC_WEBHOOK_POLL_SECONDS": "0.1",
        **extra,
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "cli", "worker"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def _deliveries(db) -> list[WebhookDelivery]:
    engine = db.engine()
    with Session(engine) as s:
        rows = list(s.exec(select(WebhookDelivery)))
    engine.dispose()
    return rows


def test_a_killed_worker_loses_no_delivery(seeded, tmp_path):
    with serve_receiver(Receiver(delay=0.05)) as receiver:
        _prepare(seeded, receiver, leads=60)
        first = _worker(seeded, tmp_path / "worker1.log")
        receiver.wait_for(lambda r: len(r.unique()) >= 10, timeout=30)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        assert len(receiver.unique()) < 60, "the worker finished before it could be killed"
        second = _worker(seeded, tmp_path / "worker2.log")
        try:
            receiver.wait_for(lambda r: len(r.unique()) == 60, timeout=60)
            # what the dead worker sent but never recorded goes out again once its lease ends
            eventually(
                lambda: {d.status for d in _deliveries(seeded)} == {"succeeded"},
                30,
                "for the deliveries after the restart",
            )
        finally:
            _stop(second)
        assert receiver.rejected == 0
        assert len(receiver.unique()) == 60 <= len(receiver.received)  # at least once


def test_two_workers_deliver_each_event_once(seeded, tmp_path):
    with serve_receiver(Receiver(delay=0.01)) as receiver:
        logs = [tmp_path / f"worker{i}.log" for i in (1, 2)]
        workers = [_worker(seeded, log) for log in logs]
        try:
            # Both running before there is work: on a loaded machine one worker could
            # otherwise deliver everything while the other is still importing.
            eventually(
                lambda: all(STARTED in log.read_text() for log in logs),
                timeout=60,
                what="for both workers to start",
            )
            for log in logs:
                [line] = [x for x in log.read_text().splitlines() if STARTED in x]
                assert json.loads(line)["level"] == "info"  # a JSON line, not a bare print
            _prepare(seeded, receiver, leads=150)
            receiver.wait_for(lambda r: len(r.unique()) == 150, timeout=90)
            time.sleep(0.5)
        finally:
            for w in workers:
                _stop(w)
        assert len(receiver.received) == 150  # no event arrived twice
    engine = seeded.engine()
    with Session(engine) as s:
        attempts = s.exec(select(WebhookAttempt.delivery_id)).all()
        statuses = set(
            s.exec(select(WebhookDelivery.status).where(col(WebhookDelivery.status) != "x")).all()
        )
    engine.dispose()
    assert len(attempts) == len(set(attempts)) == 150
    assert statuses == {"succeeded"}
    texts = [log.read_text() for log in logs]
    assert all('"event":"webhook delivery"' in text for text in texts), "both workers took a share"


def test_a_worker_serves_its_delivery_metrics_when_given_a_port(seeded, tmp_path):
    port = free_port()
    env = {"CLINIC_METRICS_ENABLED": "true", "CLINIC_WORKER_METRICS_PORT": str(port)}
    with serve_receiver(Receiver()) as receiver:
        _prepare(seeded, receiver, leads=3)
        worker = _worker(seeded, tmp_path / "worker.log", **env)
        try:
            receiver.wait_for(lambda r: len(r.unique()) == 3, timeout=60)

            def counted() -> bool:
                try:
                    text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
                except httpx.HTTPError:
                    return False
                return 'clinic_webhook_deliveries_total{outcome="delivered"} 3.0' in text

            eventually(counted, timeout=30, what="for the worker's metrics")
        finally:
            _stop(worker)
