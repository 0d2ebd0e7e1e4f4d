"""The dispatcher's claim, lease and bookkeeping, without any HTTP server."""

import asyncio
import dataclasses
from collections import Counter
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import Session, col, select

from api.links import event_links_builder
from db.models import utcnow
from db.session import unit_of_work
from db.webhook_models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from schemas.vocabulary import DeliveryStatus, EndpointStatus
from schemas.webhooks import WebhookEndpointCreate
from services.events import outbox
from services.webhooks import attempts, endpoints, sending
from services.webhooks.dispatcher import Dispatcher
from services.webhooks.endpoints import new_secret
from tests.vault_helpers import ring
from tests.waiting import eventually
from tests.webhook_receiver import Receiver, serve_receiver

CFG = attempts.DispatchConfig(
    timeout=1,
    schedule=[10, 20],
    disable_after=timedelta(hours=1),
    links=event_links_builder("https://api.example"),
    ring=ring(),
    allow_private=True,
    batch_size=10,
    poll_seconds=1,
    lease_margin=5,
)


@pytest.fixture
def engine(migrated):
    e = migrated.engine()
    yield e
    e.dispose()


def _queue(engine, events: int = 1, url: str = "http://127.0.0.1:9/hook") -> str:
    """An endpoint at `url` and `events` events for it; returns the endpoint's secret."""
    with unit_of_work(engine) as s:
        _, secret = endpoints.create(
            session=s,
            data=WebhookEndpointCreate(url=url),
            allow_private=True,
            ring=ring(),
            actor=None,
        )
        s.flush()
        for n in range(events):
            outbox.emit(
                session=s, type="article.updated", data={"id": str(n), "slug": "a", "locale": "en"}
            )
    return secret


def _delivery(engine) -> WebhookDelivery:
    with Session(engine) as s:
        return s.exec(select(WebhookDelivery)).one()


def test_a_claim_holds_a_lease_that_a_crash_lets_expire(engine):
    _queue(engine, events=3)
    jobs = attempts.claim_due(engine, CFG)
    assert len(jobs) == 3
    assert jobs[0].body.startswith('{"type":"article.updated"')
    assert attempts.claim_due(engine, CFG) == []  # leased: no second worker gets them
    with unit_of_work(engine) as s:  # the claimer died; its lease runs out
        for d in s.exec(select(WebhookDelivery)):
            d.next_attempt_at = utcnow() - timedelta(seconds=1)
    assert len(attempts.claim_due(engine, CFG)) == 3


def test_paused_endpoints_are_not_claimed(engine):
    _queue(engine)
    with unit_of_work(engine) as s:
        s.exec(select(WebhookEndpoint)).one().status = EndpointStatus.PAUSED
    assert attempts.claim_due(engine, CFG) == []


def test_success_failure_and_gone_are_recorded(engine):
    _queue(engine)
    [job] = attempts.claim_due(engine, CFG)
    attempts.record(engine, job, attempts.AttemptOutcome(500, None, 3.0), CFG)
    failed = _delivery(engine)
    assert failed.status == DeliveryStatus.PENDING and failed.attempts == 1
    assert failed.next_attempt_at > utcnow() + timedelta(seconds=7)  # 10 s -20 % jitter
    attempts.record(engine, job, attempts.AttemptOutcome(204, None, 2.0), CFG)
    assert _delivery(engine).status == DeliveryStatus.SUCCEEDED
    attempts.record(engine, job, attempts.AttemptOutcome(410, None, 2.0), CFG)
    with Session(engine) as s:
        endpoint = s.exec(select(WebhookEndpoint)).one()
        assert endpoint.status == EndpointStatus.DISABLED and "410" in (
            endpoint.disabled_reason or ""
        )
        assert len(s.exec(select(WebhookAttempt)).all()) == 3


def test_the_schedule_running_out_fails_the_delivery(engine):
    _queue(engine)
    [job] = attempts.claim_due(engine, CFG)
    for _ in range(3):
        attempts.record(engine, job, attempts.AttemptOutcome(None, "refused", 1.0), CFG)
    assert _delivery(engine).status == DeliveryStatus.FAILED


def test_a_url_httpx_cannot_use_fails_that_delivery_only():
    job = attempts.Job(
        delivery_id=None,  # type: ignore[arg-type]
        endpoint_id=None,  # type: ignore[arg-type]
        msg_id="msg_1",
        url="http://127.0.0.1:9/\x01bad",
        secrets=[new_secret()],
        body="{}",
    )

    async def send() -> attempts.AttemptOutcome:
        async with httpx.AsyncClient() as client:
            return await sending.send(client, job, CFG)

    outcome = asyncio.run(send())
    assert outcome.status_code is None and outcome.error


def test_a_delivery_that_cannot_be_built_fails_alone(engine):
    _queue(engine, url="http://127.0.0.1:9/broken")
    _queue(engine, url="http://127.0.0.1:9/healthy")
    with unit_of_work(engine) as s:  # a secret sealed under a master key this process lacks
        stmt = select(WebhookEndpoint).where(col(WebhookEndpoint.url).endswith("broken"))
        broken = s.exec(stmt).one()
        broken.secret_key_id = "0000000000000000"
    jobs = attempts.claim_due(engine, CFG)
    assert [j.url for j in jobs] == ["http://127.0.0.1:9/healthy"]
    with Session(engine) as s:
        logged = s.exec(select(WebhookAttempt)).all()
        assert len(logged) == 2  # both events to the broken endpoint, each an attempt
        assert all("CryptoKeyError" in (a.error or "") and not a.succeeded for a in logged)


def test_a_claim_takes_no_endpoint_beyond_its_concurrency(engine):
    """What this process has in flight counts: an endpoint at its limit gets nothing more,
    and the rows behind its deliveries go to other endpoints."""
    _queue(engine, events=6, url="http://127.0.0.1:9/slow")  # queued first: due first
    with unit_of_work(engine) as s:
        slow = s.exec(select(WebhookEndpoint)).one().id
    _queue(engine, events=0, url="http://127.0.0.1:9/quick")
    with unit_of_work(engine) as s:
        for n in range(2):
            outbox.emit(
                session=s,
                type="article.updated",
                data={"id": f"q{n}", "slug": "q", "locale": "en"},
            )
    cfg = dataclasses.replace(CFG, endpoint_concurrency=4)
    jobs = attempts.claim_due(engine, cfg, busy={slow: 3}, limit=10)
    by_endpoint = Counter(job.endpoint_id for job in jobs)
    assert by_endpoint[slow] == 1  # 3 in flight + 1 = its concurrency
    # Each event went to both endpoints once the second was subscribed: 2 to the quick one.
    assert sum(n for e, n in by_endpoint.items() if e != slow) == 2
    assert attempts.claim_due(engine, cfg, busy={slow: 4}, limit=10) == []  # full, rest leased


def test_a_commit_in_another_process_wakes_a_dispatcher_through_notify(engine):
    """PostgreSQL: the dispatcher listens on one async connection; an event committed where no
    in-process wake reaches it (here: no `delivering`, no commit hook) is delivered long
    before the next poll (an hour away)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    cfg = dataclasses.replace(CFG, poll_seconds=3600)
    with serve_receiver(Receiver()) as receiver:
        receiver.secrets.append(_queue(engine, events=1, url=receiver.url))

        async def scenario() -> None:
            stop = asyncio.Event()
            running = asyncio.create_task(Dispatcher(engine, cfg).run(stop))
            try:
                # The first event went out at start; the dispatcher now waits for the poll,
                # or a NOTIFY once its LISTEN connection is up.
                await asyncio.to_thread(receiver.wait_for, lambda r: len(r.unique()) == 1)
                await asyncio.to_thread(eventually, lambda: _listening(engine) == 1)
                with unit_of_work(engine) as s:
                    outbox.emit(
                        session=s,
                        type="article.updated",
                        data={"id": "late", "slug": "a", "locale": "en"},
                    )
                await asyncio.to_thread(receiver.wait_for, lambda r: len(r.unique()) == 2)
            finally:
                stop.set()
                await running
            # The connection closes with the dispatcher (its server process then exits).
            await asyncio.to_thread(eventually, lambda: _listening(engine) == 0)

        asyncio.run(scenario())


def _listening(engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND query LIKE 'LISTEN %'"
                )
            ).scalar_one()
        )
