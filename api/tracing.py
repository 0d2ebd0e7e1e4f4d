"""OpenTelemetry tracing: off unless OTEL_EXPORTER_OTLP_ENDPOINT is set and the `otel` extra
is installed (`pip install '.[otel]'`). Then every request, SQL statement and outgoing HTTP
call (webhook deliveries) is a span, exported over OTLP/HTTP; the standard OTEL_* variables
(OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_HEADERS, OTEL_TRACES_SAMPLER…) apply as documented by
OpenTelemetry. Nothing here runs, or is imported, when tracing is off."""

import logging
import os
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine

log = logging.getLogger("clinic.tracing")

# Probes and scrapes would drown the traces that matter.
_UNTRACED_URLS = "healthz,readyz,metrics"
Shutdown = Callable[[], None]


def tracing_requested() -> bool:
    """Whether the environment asks for traces to be exported."""
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def start_tracing(service_name: str, engine: Engine, app: FastAPI | None = None) -> Shutdown | None:
    """Instrument `app` (when given: the worker has none), `engine` and httpx when the
    environment asks for it; returns what flushes and removes the instrumentation at shutdown
    (None when tracing stays off)."""
    if not tracing_requested():
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set but the otel extra is not installed; "
            "tracing stays off (pip install '.[otel]')"
        )
        return None
    resource = Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME", service_name)})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    if app is not None:
        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=provider,
            excluded_urls=_UNTRACED_URLS,
            server_request_hook=_without_query,
        )
    sql = SQLAlchemyInstrumentor()
    # The instrumentation declares SQLAlchemy < 2.1 and would otherwise do nothing on 2.1; the
    # engine events it hooks are unchanged there (tests/e2e/test_tracing.py sees the spans).
    sql.instrument(engine=engine, tracer_provider=provider, skip_dep_check=True)
    http = HTTPXClientInstrumentor()
    http.instrument(tracer_provider=provider)
    log.info("tracing on", extra={"exporter": "otlp/http"})

    def shutdown() -> None:
        http.uninstrument()
        sql.uninstrument()
        if app is not None:
            FastAPIInstrumentor.uninstrument_app(app)
        provider.shutdown()  # flushes the spans still queued

    return shutdown


def _without_query(span: Any, scope: dict[str, Any]) -> None:
    """Request spans name the path, never the query: it may hold an email (`?email=`)."""
    if span is None or not span.is_recording():
        return
    path = scope.get("path", "")
    host = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"host"), "")
    span.set_attribute("http.target", path)
    span.set_attribute("http.url", f"{scope.get('scheme', 'http')}://{host}{path}")
