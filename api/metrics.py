"""`GET /metrics` for Prometheus: mounted only when CLINIC_METRICS_ENABLED=true, and best kept
off the public internet (the proxy should not route it)."""

from collections.abc import Iterator

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from core.metrics import LeadOutcome, exposition, observe_lead, observe_request
from db.session import read_session
from services.webhooks import deliveries

router = APIRouter(include_in_schema=False)


class OutboxCollector(Collector):
    """The outbox backlog, read from the database at scrape time (the same in every process)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with read_session(self.engine) as session:
            backlog = deliveries.backlog(session=session)
        yield GaugeMetricFamily(
            "clinic_outbox_pending_deliveries",
            "Webhook deliveries not yet sent (pending, including those waiting to retry).",
            value=backlog.pending,
        )
        yield GaugeMetricFamily(
            "clinic_outbox_oldest_pending_age_seconds",
            "Age of the event behind the oldest pending delivery (0 when none).",
            value=backlog.oldest_age_seconds,
        )


@router.get("/metrics", name="metrics")
async def metrics(request: Request) -> Response:
    """Prometheus text exposition."""
    collector = OutboxCollector(request.app.state.engine)
    body = await run_in_threadpool(exposition, collector)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


_INTAKE = ("POST", "/v1/consultation-requests")
_REFUSALS = {422: LeadOutcome.INVALID, 429: LeadOutcome.RATE_LIMITED}


def observe(method: str, route: str | None, status: int, seconds: float) -> None:
    """The request observer (RequestContextMiddleware): every request, and lead intake's
    refusals, which are answered before its route runs (validation, rate limit, body cap)."""
    observe_request(method, route, status, seconds)
    if (method, route) == _INTAKE and status >= 400:
        observe_lead(_REFUSALS.get(status, LeadOutcome.REFUSED))
