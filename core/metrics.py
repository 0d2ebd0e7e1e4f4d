"""Prometheus metrics every layer records into (prometheus-client).

With several uvicorn workers on one port, `python -m cli serve` points PROMETHEUS_MULTIPROC_DIR
at a fresh folder before the workers start: each process then writes its samples there and a
scrape of any worker adds them all up (prometheus-client's multiprocess mode)."""

import os
from enum import StrEnum

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector


class LeadOutcome(StrEnum):
    """What became of a consultation request (a metrics label)."""

    ACCEPTED = "accepted"
    SPAM = "spam"
    REPLAY = "replay"
    INVALID = "invalid"
    RATE_LIMITED = "rate_limited"
    REFUSED = "refused"  # not JSON, too large, a conflicting Idempotency-Key


class DeliveryOutcome(StrEnum):
    """What one webhook delivery attempt came to (a metrics label)."""

    DELIVERED = "delivered"
    RETRYING = "retrying"
    FAILED = "failed"


# Seconds; the API answers most requests in milliseconds, a webhook may take its full timeout.
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200, 36000)

REQUESTS = Counter(
    "clinic_http_requests",
    "HTTP requests answered, by route template and status.",
    ["method", "route", "status"],
)
REQUEST_SECONDS = Histogram(
    "clinic_http_request_duration_seconds",
    "Time to answer a request, by route template.",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
)
CACHE_LOOKUPS = Counter(
    "clinic_response_cache_lookups", "Public GETs looked up in the response cache.", ["result"]
)
LEADS = Counter("clinic_leads", "Consultation requests, by outcome.", ["outcome"])
DELIVERIES = Counter(
    "clinic_webhook_deliveries", "Webhook delivery attempts, by outcome.", ["outcome"]
)
UNREADABLE_LEADS = Counter(
    "clinic_leads_unreadable",
    "Leads whose sealed personal data could not be opened (a damaged row, or a master key this "
    "process lacks), each counted once per process.",
)
DISPATCH_LAG = Histogram(
    "clinic_webhook_dispatch_lag_seconds",
    "From an event's creation to a successful delivery of it.",
    buckets=_LAG_BUCKETS,
)

# Routes that matched nothing share one label, and so do methods we do not serve: nothing a
# client sends can grow the label set.
UNMATCHED = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PATCH", "DELETE", "OPTIONS"})


def observe_request(method: str, route: str | None, status: int, seconds: float) -> None:
    """Count one answered request."""
    label = route or UNMATCHED
    verb = method if method in _METHODS else "other"
    REQUESTS.labels(verb, label, str(status)).inc()
    REQUEST_SECONDS.labels(verb, label).observe(seconds)


def observe_cache(hit: bool) -> None:
    """Count one response-cache lookup."""
    CACHE_LOOKUPS.labels("hit" if hit else "miss").inc()


def observe_lead(outcome: LeadOutcome) -> None:
    """Count one consultation request by what became of it."""
    LEADS.labels(outcome).inc()


def observe_delivery(outcome: str, lag_seconds: float | None) -> None:
    """Count one delivery attempt; a success also records how long the event waited."""
    DELIVERIES.labels(outcome).inc()
    if lag_seconds is not None:
        DISPATCH_LAG.observe(lag_seconds)


def observe_unreadable_lead() -> None:
    """Count one lead found unreadable (its caller counts each lead once)."""
    UNREADABLE_LEADS.inc()


def exposition(extra: Collector | None = None) -> bytes:
    """The text exposition of every metric: this process's, or every worker's in multiprocess
    mode, then `extra`'s (gauges read at scrape time, such as the outbox backlog)."""
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    body = generate_latest(registry)
    if extra is not None:
        scraped = CollectorRegistry()
        scraped.register(extra)
        body += generate_latest(scraped)
    return body
