"""The webhook dispatcher: the loop that claims due deliveries whenever there is room, sends
each on its own (no endpoint beyond its concurrency, so a slow one slows only itself) and
records every attempt as soon as it is over. On PostgreSQL it also wakes on NOTIFY."""

import asyncio
import logging
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from typing import Any

import httpx
import psycopg
from sqlalchemy import Engine

from core.logging import describe_exception
from db.session import run_unit_of_work
from services.content.publishing import publish_periodically
from services.events import outbox
from services.events.outbox import NOTIFY_CHANNEL
from services.leads.retention import prune_periodically
from services.webhooks.attempts import (
    AttemptOutcome,
    DispatchConfig,
    Job,
    build_jobs,
    claim,
    record_attempt,
    report,
)
from services.webhooks.sending import send
from services.webhooks.transport import webhook_client

log = logging.getLogger("clinic.webhooks")
# Seconds before a lost LISTEN connection is opened again.
LISTEN_RETRY_SECONDS = 1.0


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

    async def _record(self, job: Job, outcome: AttemptOutcome) -> None:
        """Record an attempt in a unit of work of its own, done whole in one worker thread
        (db.session.run_unit_of_work)."""
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

    async def _listen(self) -> None:
        """PostgreSQL: wake on NOTIFY from commits in any process, on one async connection
        of its own; a lost connection is opened again a second later (the poll covers the
        meantime). Runs until cancelled."""
        url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    async for _ in conn.notifies():
                        self._wake.set()
            except Exception as exc:  # any failure: the poll covers until it is back
                log.warning(
                    "webhook LISTEN connection lost; polling until it is back",
                    extra={"error": describe_exception(exc)},
                )
            await asyncio.sleep(LISTEN_RETRY_SECONDS)

    async def run(self, stop: asyncio.Event) -> None:
        """Loop until `stop` is set."""
        self._loop = asyncio.get_running_loop()
        listener = None
        if self.engine.dialect.name == "postgresql":
            listener = asyncio.create_task(self._listen())
        try:
            await self._loop_until(stop)
        finally:
            stop.set()
            if listener is not None:
                listener.cancel()
                with suppress(asyncio.CancelledError):
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


@asynccontextmanager
async def delivering(
    engine: Engine, cfg: DispatchConfig, *, idempotency_ttl: timedelta, production: bool
) -> AsyncIterator[None]:
    """The background work of a deployment, running until the block ends and then stopped and
    awaited: a dispatcher woken by this process's commits that wrote events, the pruning of
    expired Idempotency-Key records, and the publishing of scheduled articles (each claimed
    once, whichever process runs this). `cli worker` and the API's in-process dispatcher both
    run it."""
    dispatcher = Dispatcher(engine, cfg)
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop))
    pruning = asyncio.create_task(prune_periodically(engine, ttl=idempotency_ttl, stop=stop))
    scheduling = asyncio.create_task(publish_periodically(engine, production=production, stop=stop))
    unsubscribe = outbox.on_commit_wake(engine, dispatcher.wake)
    try:
        yield
    finally:
        unsubscribe()
        stop.set()
        # All stop; none is left pending, even when another failed.
        stopped = await asyncio.gather(task, pruning, scheduling, return_exceptions=True)
        for failed in stopped:
            if isinstance(failed, Exception):
                log.error("background work stopped", extra={"error": describe_exception(failed)})
