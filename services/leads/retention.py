"""What the intake keeps only for a while: an Idempotency-Key record goes once its lifetime has
passed, since its fingerprint stands for a body that named a person. Pruned where webhooks are
dispatched (in the API process by default, else in each `cli worker`), and by `cli
prune-idempotency-keys`."""

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import Engine

from core.logging import describe_exception
from db.models import utcnow
from db.session import run_unit_of_work
from services.leads import idempotency

log = logging.getLogger("clinic.leads")
PRUNE_EVERY_SECONDS = 600.0


async def prune_periodically(
    engine: Engine, *, ttl: timedelta, stop: asyncio.Event, every: float = PRUNE_EVERY_SECONDS
) -> None:
    """Prune expired Idempotency-Key records now and every `every` seconds until `stop`."""
    while not stop.is_set():
        try:
            removed = await run_unit_of_work(
                engine,
                lambda session: idempotency.prune_expired(session=session, now=utcnow(), ttl=ttl),
            )
        except Exception as exc:  # the database is away: try again next time
            log.warning("idempotency_prune_failed", extra={"error": describe_exception(exc)})
        else:
            if removed:
                log.info("idempotency_records_pruned", extra={"count": removed})
        try:
            await asyncio.wait_for(stop.wait(), every)
        except TimeoutError:
            continue
