"""One webhook delivery attempt's bookkeeping: claiming due deliveries under a lease, building
what is sent, recording each attempt, retrying with backoff and jitter, and disabling endpoints
that keep failing. At least once. (Sending is `sending.py`; the loop is `dispatcher.py`.)"""

import logging
import random
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from core.config import Settings
from core.crypto import KeyRing
from core.logging import describe_exception, request_context
from core.metrics import DeliveryOutcome, observe_delivery
from db.models import as_utc, utcnow
from db.session import read_session, unit_of_work
from db.webhook_models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from schemas.vocabulary import DeliveryStatus, EndpointStatus, PayloadMode
from services.leads import vault
from services.leads.events import erased_data
from services.webhooks.endpoints import signing_secrets
from services.webhooks.payloads import LinkBuilder, render

log = logging.getLogger("clinic.webhooks")
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
class AttemptOutcome:
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
) -> tuple[list[Job], list[tuple[Job, AttemptOutcome]]]:
    """The jobs of claimed deliveries (reads only), and those that could not be built, as
    the failed attempts to record: say a secret sealed under a key this process lacks. Such a
    delivery fails alone, never the batch."""
    jobs: list[Job] = []
    broken: list[tuple[Job, AttemptOutcome]] = []
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
            broken.append((job, AttemptOutcome(None, describe_exception(exc)[:500], 0.0)))
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


def next_delay(attempts: int, cfg: DispatchConfig, outcome: AttemptOutcome) -> timedelta | None:
    """The wait before the next attempt, or None once the schedule is used up."""
    if attempts > len(cfg.schedule):
        return None
    base = timedelta(seconds=cfg.schedule[attempts - 1] * random.uniform(0.8, 1.2))  # noqa: S311
    return max(base, outcome.retry_after or timedelta())


def record(engine: Engine, job: Job, outcome: AttemptOutcome, cfg: DispatchConfig) -> None:
    """`record_attempt` in a unit of work of its own, then `report` it (tests, one-off
    callers; the dispatcher queues its writes like every other writer of the process)."""
    with unit_of_work(engine) as session:
        result = record_attempt(session, job, outcome, cfg)
    report(job, outcome, result)


def record_attempt(
    session: Session, job: Job, outcome: AttemptOutcome, cfg: DispatchConfig
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


def report(job: Job, outcome: AttemptOutcome, result: DeliveryOutcome | None) -> None:
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
