"""The webhook dispatcher: claims due deliveries, signs and sends them, records every attempt,
retries with backoff and jitter, and disables endpoints that keep failing. At least once."""

import asyncio
import logging
import random
import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson
import psycopg
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select
from standardwebhooks import Webhook

from core.config import Settings
from core.crypto import KeyRing
from core.errors import BlockedAddressError
from core.logging import describe_exception, request_context
from core.metrics import DeliveryOutcome, observe_delivery
from db.models import as_utc, utcnow
from db.session import read_session, run_unit_of_work, unit_of_work
from db.webhook_models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from schemas.vocabulary import DeliveryStatus, EndpointStatus, PayloadMode
from services.events.outbox import NOTIFY_CHANNEL
from services.leads import vault
from services.leads.events import erased_data
from services.webhooks.endpoints import signing_secrets
from services.webhooks.payloads import LinkBuilder, render
from services.webhooks.transport import is_pinned, webhook_client

log = logging.getLogger("clinic.webhooks")
MAX_RETRY_AFTER = timedelta(days=1)
# What is read of an answer: its status and headers decide; a body past this is never read
# (a receiver answering 400 MB must not fill this process), and the connection is closed.
ANSWER_READ_LIMIT = 64 * 1024
# Rows looked at per claim for each one claimed: room for endpoints further down the queue
# when the first due deliveries belong to endpoints already at their concurrency.
CLAIM_LOOKAHEAD = 4


@dataclass(frozen=True)
class DispatchConfig:
    """What the dispatcher needs from settings."""

    timeout: float
    schedule: list[float]
    disable_after: timedelta
    links: LinkBuilder
    ring: KeyRing
    allow_private: bool
    batch_size: int
    poll_seconds: float
    lease_margin: float
    deadline: float = 15.0
    endpoint_concurrency: int = 4

    @classmethod
    def from_settings(cls, s: Settings, *, links: LinkBuilder, ring: KeyRing) -> "DispatchConfig":
        """Read the webhook settings; `links` builds the absolute links a payload carries,
        `ring` opens sealed lead data and endpoint secrets."""
        return cls(
            ring=ring,
            timeout=s.webhook_timeout_seconds,
            schedule=list(s.webhook_retry_schedule),
            disable_after=timedelta(hours=s.webhook_disable_after_hours),
            links=links,
            allow_private=s.webhook_allow_private_urls,
            batch_size=s.webhook_batch_size,
            poll_seconds=s.webhook_poll_seconds,
            lease_margin=s.webhook_lease_margin_seconds,
            deadline=s.webhook_attempt_deadline_seconds,
            endpoint_concurrency=s.webhook_endpoint_concurrency,
        )

    @property
    def lease(self) -> timedelta:
        """How long a claim holds before another worker may retry it (a crash frees it)."""
        return timedelta(seconds=max(self.timeout, self.deadline) + self.lease_margin)


@dataclass(frozen=True)
class Job:
    """A claimed delivery with everything needed to send it."""

    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    msg_id: str
    url: str
    secrets: list[str]
    body: str
    # The request that caused the event: sent as `clinic-request-id`, and on every log line
    # about this delivery.
    request_id: str | None = None
    event_created_at: datetime | None = None


@dataclass(frozen=True)
class Outcome:
    """What one HTTP attempt produced."""

    status_code: int | None
    error: str | None
    latency_ms: float
    retry_after: timedelta | None = None

    @property
    def succeeded(self) -> bool:
        """Only 2xx counts."""
        return self.status_code is not None and 200 <= self.status_code < 300


def claim_due(
    engine: Engine,
    cfg: DispatchConfig,
    *,
    busy: Mapping[uuid.UUID, int] | None = None,
    limit: int | None = None,
) -> list[Job]:
    """`claim` in a unit of work of its own, and the claimed deliveries' jobs (one that
    cannot be built is recorded as a failed attempt): for tests and one-off callers."""
    with unit_of_work(engine) as session:
        ids = claim(session, cfg, busy=busy or {}, limit=limit)
    jobs, broken = build_jobs(engine, ids, cfg)
    for job, outcome in broken:
        record(engine, job, outcome, cfg)
    return jobs


def claim(
    session: Session,
    cfg: DispatchConfig,
    *,
    busy: Mapping[uuid.UUID, int],
    limit: int | None = None,
) -> list[uuid.UUID]:
    """Claim up to `limit` (default the batch size) due deliveries in the caller's
    transaction by pushing their next attempt past a lease, in one statement, no endpoint
    beyond its concurrency counting what this process already has in flight (`busy`).

    PostgreSQL workers skip rows another worker has locked; on any database the conditional
    UPDATE claims a row for one worker only."""
    now = utcnow()
    limit = cfg.batch_size if limit is None else limit
    full = [e for e, n in busy.items() if n >= cfg.endpoint_concurrency]
    stmt = (
        select(WebhookDelivery.id, WebhookDelivery.endpoint_id)
        .join(WebhookEndpoint, col(WebhookEndpoint.id) == col(WebhookDelivery.endpoint_id))
        .where(
            WebhookDelivery.status == DeliveryStatus.PENDING,
            col(WebhookDelivery.next_attempt_at) <= now,
            WebhookEndpoint.status == EndpointStatus.ACTIVE,
            col(WebhookEndpoint.id).not_in(full),
        )
        .order_by(col(WebhookDelivery.next_attempt_at))
        .limit(limit * CLAIM_LOOKAHEAD)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=WebhookDelivery)
    room: Counter[uuid.UUID] = Counter()
    chosen: list[uuid.UUID] = []
    for delivery_id, endpoint_id in session.exec(stmt).all():
        if len(chosen) == limit:
            break
        if busy.get(endpoint_id, 0) + room[endpoint_id] < cfg.endpoint_concurrency:
            room[endpoint_id] += 1
            chosen.append(delivery_id)
    if not chosen:
        return []
    return list(
        session.execute(
            update(WebhookDelivery)
            .where(
                col(WebhookDelivery.id).in_(chosen),
                col(WebhookDelivery.next_attempt_at) <= now,
                col(WebhookDelivery.status) == DeliveryStatus.PENDING,
            )
            .values(next_attempt_at=now + cfg.lease)
            .returning(col(WebhookDelivery.id))
            .execution_options(synchronize_session=False)
        ).scalars()
    )


def build_jobs(
    engine: Engine, ids: Sequence[uuid.UUID], cfg: DispatchConfig
) -> tuple[list[Job], list[tuple[Job, Outcome]]]:
    """The jobs of claimed deliveries (reads only), and those that could not be built, as
    the failed attempts to record: say a secret sealed under a key this process lacks. Such a
    delivery fails alone, never the batch."""
    jobs: list[Job] = []
    broken: list[tuple[Job, Outcome]] = []
    for delivery_id in ids:
        try:
            with read_session(engine) as session:
                jobs.append(_job(session, delivery_id, cfg))
        except Exception as exc:
            log.error(
                "webhook delivery could not be built",
                extra={"delivery": str(delivery_id), "error": describe_exception(exc)},
            )
            with read_session(engine) as session:
                endpoint_id = session.get_one(WebhookDelivery, delivery_id).endpoint_id
            job = Job(delivery_id, endpoint_id, msg_id="", url="", secrets=[], body="")
            broken.append((job, Outcome(None, describe_exception(exc)[:500], 0.0)))
    return jobs, broken


def payload_policy(
    delivery: WebhookDelivery, endpoint: WebhookEndpoint
) -> tuple[PayloadMode, bool]:
    """What a delivery may carry: never more than when it was created (so widening an endpoint
    later does not widen old events on redelivery), nor more than the endpoint allows now."""
    thin = PayloadMode.THIN in (delivery.payload_mode, endpoint.payload_mode)
    health = delivery.include_health_data and endpoint.include_health_data
    return (PayloadMode.THIN if thin else PayloadMode.FULL), health


def _job(session: Session, delivery_id: uuid.UUID, cfg: DispatchConfig) -> Job:
    delivery = session.get_one(WebhookDelivery, delivery_id)
    endpoint = session.get_one(WebhookEndpoint, delivery.endpoint_id)
    evt = session.get_one(WebhookEvent, delivery.event_id)
    mode, health = payload_policy(delivery, endpoint)
    data = render(evt.type, _opened(session, cfg, evt), mode=mode, health=health, links=cfg.links)
    envelope = {"type": evt.type, "timestamp": evt.created_at.isoformat(), "data": data}
    return Job(
        delivery_id=delivery.id,
        endpoint_id=endpoint.id,
        msg_id=f"msg_{evt.id.hex}",
        url=endpoint.url,
        secrets=signing_secrets(endpoint, ring=cfg.ring),
        body=orjson.dumps(envelope).decode(),
        request_id=evt.request_id,
        event_created_at=evt.created_at,
    )


def _opened(session: Session, cfg: DispatchConfig, evt: WebhookEvent) -> dict[str, Any]:
    """The event's data; a lead's is sealed under the lead's key, gone once it was erased."""
    if "sealed" not in evt.data:
        return evt.data
    opened = vault.open_event(session=session, ring=cfg.ring, data=evt.data)
    return opened if opened is not None else erased_data(evt.data["id"])


def sign_headers(job: Job, now: datetime) -> dict[str, str]:
    """Standard Webhooks headers; during a secret rotation both secrets sign."""
    signatures = " ".join(Webhook(s).sign(job.msg_id, now, job.body) for s in job.secrets)
    headers = {
        "webhook-id": job.msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signatures,
        "content-type": "application/json",
        "user-agent": "clinic-webhooks/1",
    }
    if job.request_id is not None:
        headers["clinic-request-id"] = job.request_id
    return headers


def _retry_after(response: httpx.Response) -> timedelta | None:
    value = response.headers.get("retry-after")
    if response.status_code not in (429, 503) or not value:
        return None
    try:
        return min(timedelta(seconds=max(0, int(value))), MAX_RETRY_AFTER)
    except ValueError:
        with suppress(TypeError, ValueError):
            return min(max(parsedate_to_datetime(value) - utcnow(), timedelta()), MAX_RETRY_AFTER)
    return None


async def send(client: httpx.AsyncClient, job: Job, cfg: DispatchConfig) -> Outcome:
    """One signed POST, done or given up within `cfg.deadline`; never raises. Unless private
    URLs are allowed, `client` must come from `webhook_client`: it checks the addresses it
    connects to (see transport.py)."""
    start = time.perf_counter()
    if not cfg.allow_private and not is_pinned(client):
        return Outcome(None, "refused: this client does not check addresses", _ms(start))
    try:
        async with asyncio.timeout(cfg.deadline):
            return await _post(client, job, start)
    except TimeoutError:
        return Outcome(None, f"deadline: no whole answer within {cfg.deadline:g} s", _ms(start))
    except BlockedAddressError:
        return Outcome(None, "blocked: the URL resolves to a private address", _ms(start))
    except httpx.HTTPError as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:500], _ms(start))
    except Exception as exc:  # one bad delivery must fail alone, never the whole batch
        return Outcome(None, describe_exception(exc)[:500], _ms(start))


async def _post(client: httpx.AsyncClient, job: Job, start: float) -> Outcome:
    """The POST and its answer, of which at most ANSWER_READ_LIMIT bytes are read."""
    request = client.build_request(
        "POST", job.url, content=job.body.encode(), headers=sign_headers(job, utcnow())
    )
    response = await client.send(request, stream=True)
    try:
        read = 0
        async for chunk in response.aiter_raw():
            read += len(chunk)
            if read >= ANSWER_READ_LIMIT:
                break  # the rest is never read: closing drops the connection
    finally:
        await response.aclose()
    return Outcome(response.status_code, None, _ms(start), _retry_after(response))


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


def next_delay(attempts: int, cfg: DispatchConfig, outcome: Outcome) -> timedelta | None:
    """The wait before the next attempt, or None once the schedule is used up."""
    if attempts > len(cfg.schedule):
        return None
    base = timedelta(seconds=cfg.schedule[attempts - 1] * random.uniform(0.8, 1.2))  # noqa: S311
    return max(base, outcome.retry_after or timedelta())


def record(engine: Engine, job: Job, outcome: Outcome, cfg: DispatchConfig) -> None:
    """`record_attempt` in a unit of work of its own, then `report` it (tests, one-off
    callers; the dispatcher queues its writes like every other writer of the process)."""
    with unit_of_work(engine) as session:
        result = record_attempt(session, job, outcome, cfg)
    report(job, outcome, result)


def record_attempt(
    session: Session, job: Job, outcome: Outcome, cfg: DispatchConfig
) -> DeliveryOutcome | None:
    """Store the attempt and move the delivery (and its endpoint) on, in the caller's
    transaction; what it came to, or None when the endpoint was deleted meanwhile."""
    now = utcnow()
    delivery = session.get(WebhookDelivery, job.delivery_id)
    endpoint = session.get(WebhookEndpoint, job.endpoint_id)
    if delivery is None or endpoint is None:
        return None
    delivery.attempts += 1
    delivery.last_status_code = outcome.status_code
    next_at: datetime | None = None
    if outcome.succeeded:
        delivery.status, delivery.delivered_at = DeliveryStatus.SUCCEEDED, now
        endpoint.failing_since = None
    elif outcome.status_code == 410:
        delivery.status = DeliveryStatus.FAILED
        _disable(endpoint, "the endpoint answered 410 Gone")
    else:
        delay = next_delay(delivery.attempts, cfg, outcome)
        if delay is None:
            delivery.status = DeliveryStatus.FAILED
        else:
            next_at = delivery.next_attempt_at = now + delay
        endpoint.failing_since = endpoint.failing_since or now
        if now - endpoint.failing_since > cfg.disable_after:
            _disable(endpoint, f"every attempt failed since {endpoint.failing_since.isoformat()}")
    session.add(
        WebhookAttempt(
            delivery_id=delivery.id,
            attempted_at=now,
            status_code=outcome.status_code,
            latency_ms=outcome.latency_ms,
            error=outcome.error,
            succeeded=outcome.succeeded,
            next_attempt_at=next_at,
        )
    )
    session.add_all([delivery, endpoint])
    if outcome.succeeded:
        return DeliveryOutcome.DELIVERED
    return (
        DeliveryOutcome.FAILED
        if delivery.status == DeliveryStatus.FAILED
        else DeliveryOutcome.RETRYING
    )


def report(job: Job, outcome: Outcome, result: DeliveryOutcome | None) -> None:
    """Count and log a recorded attempt (once its transaction has committed)."""
    if result is None:
        return
    lag = (
        (utcnow() - as_utc(job.event_created_at)).total_seconds()
        if outcome.succeeded and job.event_created_at
        else None
    )
    observe_delivery(result, lag)
    with request_context(job.request_id):
        log.info(
            "webhook delivery",
            extra={
                "delivery": str(job.delivery_id),
                "outcome": result,
                "status": outcome.status_code,
                "latency_ms": outcome.latency_ms,
            },
        )


def _disable(endpoint: WebhookEndpoint, reason: str) -> None:
    endpoint.status, endpoint.disabled_reason = EndpointStatus.DISABLED, reason
    endpoint.updated_at = utcnow()


class Dispatcher:
    """Delivers due webhooks until stopped; `wake()` makes it look now instead of at the poll."""

    def __init__(self, engine: Engine, cfg: DispatchConfig) -> None:
        self.engine = engine
        self.cfg = cfg
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        # Attempts in flight, and how many per endpoint: each is sent and recorded on its own,
        # so a slow endpoint holds up only its own deliveries.
        self._in_flight: set[asyncio.Task[None]] = set()
        self._busy: Counter[uuid.UUID] = Counter()

    def wake(self) -> None:
        """Thread-safe: new events were committed."""
        if self._loop is not None and not self._loop.is_closed():
            with suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._wake.set)

    async def run_once(self, client: httpx.AsyncClient) -> int:
        """Send one batch of due deliveries and wait for each to be recorded; returns how
        many were sent."""
        started = await self._start_due(client)
        await asyncio.gather(*started)
        return len(started)

    async def _start_due(self, client: httpx.AsyncClient) -> list[asyncio.Task[None]]:
        """Claim what is due, as far as there is room, and start each attempt on its own."""
        room = self.cfg.batch_size - len(self._in_flight)
        if room <= 0:
            return []
        busy = dict(self._busy)
        ids = await run_unit_of_work(
            self.engine, lambda session: claim(session, self.cfg, busy=busy, limit=room)
        )
        if not ids:
            return []
        jobs, broken = await asyncio.to_thread(build_jobs, self.engine, ids, self.cfg)
        for job, outcome in broken:
            await self._record(job, outcome)
        return [self._start(client, job) for job in jobs]

    async def _record(self, job: Job, outcome: Outcome) -> None:
        """Record an attempt as every writer of this process writes: one at a time on SQLite,
        queued on the event loop (db.session.run_unit_of_work), never holding a worker
        thread while it waits (a request holding SQLite's write lock could then wait for a
        thread to commit in, behind attempts waiting for its lock)."""
        result = await run_unit_of_work(
            self.engine, lambda session: record_attempt(session, job, outcome, self.cfg)
        )
        report(job, outcome, result)

    def _start(self, client: httpx.AsyncClient, job: Job) -> asyncio.Task[None]:
        self._busy[job.endpoint_id] += 1
        task = asyncio.create_task(self._attempt(client, job))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)
        return task

    async def _attempt(self, client: httpx.AsyncClient, job: Job) -> None:
        """Send one delivery and record the attempt as soon as it is over."""
        try:
            outcome = await send(client, job, self.cfg)
            await self._record(job, outcome)
        except Exception as exc:  # the database went away: the lease brings it back later
            log.error(
                "webhook attempt could not be recorded",
                extra={"delivery": str(job.delivery_id), "error": describe_exception(exc)},
            )
        finally:
            self._busy[job.endpoint_id] -= 1
            if self._busy[job.endpoint_id] <= 0:
                del self._busy[job.endpoint_id]
            self._wake.set()  # room again: look for what is due

    async def drain(self, client: httpx.AsyncClient) -> int:
        """Send batches until nothing is due; returns how many deliveries were attempted."""
        total = 0
        while sent := await self.run_once(client):
            total += sent
        return total

    def _listen(self, stop: asyncio.Event) -> None:
        """PostgreSQL: wake on NOTIFY from commits in any process (runs in a thread)."""
        url = self.engine.url.set(drivername="postgresql")
        while not stop.is_set():
            try:
                with psycopg.connect(
                    url.render_as_string(hide_password=False), autocommit=True
                ) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    while not stop.is_set():
                        for _ in conn.notifies(timeout=0.2, stop_after=1):
                            self.wake()
            except psycopg.Error:
                log.warning("webhook LISTEN connection lost; polling until it is back")
                time.sleep(1)

    async def run(self, stop: asyncio.Event) -> None:
        """Loop until `stop` is set."""
        self._loop = asyncio.get_running_loop()
        listener = None
        if self.engine.dialect.name == "postgresql":
            listener = asyncio.create_task(asyncio.to_thread(self._listen, stop))
        try:
            await self._loop_until(stop)
        finally:
            stop.set()
            if listener is not None:
                await listener

    async def _loop_until(self, stop: asyncio.Event) -> None:
        client = webhook_client(timeout=self.cfg.timeout, allow_private=self.cfg.allow_private)
        async with client:
            try:
                await self._dispatch_until(stop, client)
            finally:  # SIGTERM: the attempts in flight finish (each within its deadline)
                await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def _dispatch_until(self, stop: asyncio.Event, client: httpx.AsyncClient) -> None:
        """Start what is due whenever there is room; never wait for one attempt to start
        the next."""
        while not stop.is_set():
            self._wake.clear()
            try:
                started = await self._start_due(client)
            except Exception as exc:
                log.error(
                    "webhook dispatch failed; retrying",
                    extra={"error": describe_exception(exc)},
                )
                started = []
            if started:
                continue
            waiters: list[Any] = [
                asyncio.ensure_future(self._wake.wait()),
                asyncio.ensure_future(stop.wait()),
            ]
            _, pending = await asyncio.wait(
                waiters, timeout=self.cfg.poll_seconds, return_when=asyncio.FIRST_COMPLETED
            )
            for waiter in pending:
                waiter.cancel()
