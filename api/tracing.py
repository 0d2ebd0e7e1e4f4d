"""OpenTelemetry tracing: off unless OTEL_EXPORTER_OTLP_ENDPOINT is set and the `otel` extra
is installed (`pip install '.[otel]'`). Then every request, SQL statement and outgoing HTTP
call (webhook deliveries) is a span, exported over OTLP/HTTP; the standard OTEL_* variables
(OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_HEADERS, OTEL_TRACES_SAMPLER…) apply as documented by
OpenTelemetry. Nothing here runs, or is imported, when tracing is off."""

import logging
import os
from collections.abc import Callable
from typing import Any

import httpx
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
    http.instrument(
        tracer_provider=provider,
        request_hook=_client_origin_only,
        async_request_hook=_async_client_origin_only,
    )
    log.info("tracing on", extra={"exporter": "otlp/http"})

    def shutdown() -> None:
        http.uninstrument()
        sql.uninstrument()
        if app is not None:
            FastAPIInstrumentor.uninstrument_app(app)
        provider.shutdown()  # flushes the spans still queued

    return shutdown


# Where the instrumentations put a URL or its query, in the old and the stable HTTP semantic
# conventions (OTEL_SEMCONV_STABILITY_OPT_IN=http or http/dup selects the stable names).
_URL_KEYS = ("http.url", "url.full")
_TARGET_KEYS = ("http.target",)
_QUERY_KEYS = ("url.query",)


def _without_query(span: Any, scope: dict[str, Any]) -> None:
    """Request spans name the path, never the query: it may hold an email (`?email=`)."""
    if span is None or not span.is_recording():
        return
    path = scope.get("path", "")
    host = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"host"), "")
    _scrub(span, f"{scope.get('scheme', 'http')}://{host}", path)


def _client_origin_only(span: Any, request: Any) -> None:
    """Webhook send spans name the endpoint's origin only: its path or query may carry a
    token (`/hook/<secret>`, `?token=`)."""
    if span is None or not span.is_recording() or not isinstance(request.url, httpx.URL):
        return
    url = request.url
    _scrub(span, f"{url.scheme}://{url.host}{'' if url.port is None else f':{url.port}'}", "")


async def _async_client_origin_only(span: Any, request: Any) -> None:
    _client_origin_only(span, request)


def _scrub(span: Any, origin: str, path: str) -> None:
    """Overwrite whichever URL attributes the span carries with `origin` + `path` (no query)."""
    present = getattr(span, "attributes", None) or {}
    for key in _URL_KEYS:
        if key in present:
            span.set_attribute(key, origin + path)
    for key in _TARGET_KEYS:
        if key in present:
            span.set_attribute(key, path)
    for key in _QUERY_KEYS:
        if key in present:
            span.set_attribute(key, "")
