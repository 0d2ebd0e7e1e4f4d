"""The ASGI application: `uvicorn main:app` serves it."""

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline
from sqlalchemy import Engine

from api import (
    articles,
    changes,
    consultations,
    health,
    integrations,
    legal,
    media,
    metrics,
    openapi,
    taxonomy,
)
from api.admin import articles as admin_articles
from api.admin import audit as admin_audit
from api.admin import consultation_requests as admin_leads
from api.admin import media as admin_media
from api.admin import previews as admin_previews
from api.admin import reviewers as admin_reviewers
from api.admin import webhooks as admin_webhooks
from api.compression import JsonCompressionMiddleware
from api.cors import CORSMiddleware, cors_options
from api.errors import install_error_handlers
from api.http_cache import cache_control
from api.links import event_links_builder
from api.middleware import (
    DOCS_ASSETS,
    HeadAsGetMiddleware,
    RequestContextMiddleware,
    RequestGuardMiddleware,
    SecurityHeadersMiddleware,
)
from api.public_base import PublicBase
from api.query_guard import QueryGuard
from api.response_cache import ResponseCache, ResponseCacheMiddleware
from api.tracing import start_tracing
from core.config import Settings, get_settings
from core.crypto import KeyRing, key_ring
from core.logging import AccessLog, configure_logging
from core.net import parse_networks
from db.migrate import head_revision
from db.session import make_engine, read_session
from services.content import state, translations
from services.leads.catalog import IntakeCatalog
from services.leads.rate_limit import RateLimiter
from services.webhooks.attempts import DispatchConfig
from services.webhooks.dispatcher import delivering

API_DESCRIPTION = """
Headless content and patient-lead API for a clinic offering IV ketamine, Stellate Ganglion Block
and NAD+ therapies. Public reads need no key. Every article is served with the disclaimers its
rules require. Errors are RFC 9457 `application/problem+json`.
"""


def _operation_id(route: APIRoute) -> str:
    """Stable operation ids: the route's name."""
    return route.name


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for the given settings (default: from CLINIC_* environment variables)."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)
    engine = make_engine(settings.database_url)
    access_log = AccessLog("clinic.http")

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        await app.state.response_cache.refresh_or_pause()
        refresher = asyncio.create_task(app.state.response_cache.run(stop))
        try:
            async with run_dispatcher(engine, settings, app.state.key_ring):
                # What start-up built (modules, models, routes: ~1M objects) lives as long as
                # the process: out of the collector's sight, its full passes no longer stall
                # every request in flight (~140 ms each, at the p99 of a cached GET under load).
                gc.collect()
                gc.freeze()
                try:
                    yield
                finally:
                    gc.unfreeze()  # an app stopped in a longer-lived process (tests) goes
                    access_log.flush()  # the lines of a loop turn that did not end
        finally:  # stopped and released even when the dispatcher failed to start or stop
            stop.set()
            await refresher
            if stop_tracing is not None:
                stop_tracing()
            engine.dispose()

    # FastAPIOffline: FastAPI with /docs and /redoc on Swagger UI and ReDoc files from its
    # package (served under DOCS_ASSETS), not a CDN, so they work air-gapped.
    app = FastAPIOffline(
        static_url=DOCS_ASSETS,
        # Swagger UI would send the document to validator.swagger.io for its badge.
        swagger_ui_parameters={"validatorUrl": None},
        title="Clinic Content API",
        version="1.0.0",
        description=API_DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
        # Tracing is ours (api/tracing.py, when configured); FastAPI's own would otherwise ask
        # OpenTelemetry on every request whether a provider is set (~30 us a request).
        telemetry={"tracing": False, "metrics": False, "logs": False},
        # A path with a trailing slash is a 404 problem, not a 307 to a URL built from the
        # request's Host header and scheme (behind a TLS proxy: plain http, body re-sent).
        redirect_slashes=False,
        # An unknown or repeated query parameter is refused before any route's own parameters.
        dependencies=[Depends(QueryGuard())],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.key_ring = key_ring(settings)  # refuses to start on PostgreSQL without a key
    app.state.migration_head = head_revision()
    app.state.trusted_networks = parse_networks(settings.trusted_proxies)
    app.state.public_base = PublicBase(settings.public_base_url, app.state.trusted_networks)
    app.state.response_cache = ResponseCache(
        partial(content_version, engine),
        read_locales=partial(content_locales, engine),
        max_bytes=settings.response_cache_mb * 1024 * 1024,
        counting=settings.metrics_enabled,
        cache_control=cache_control(settings),
    )
    # What lead intake checks submissions against, per content version (services/leads/catalog).
    app.state.intake_catalog = IntakeCatalog()
    app.state.lead_writer = consultations.lead_writer(
        engine, ring=app.state.key_ring, catalog=app.state.intake_catalog, settings=settings
    )
    app.state.lead_limiter = RateLimiter(
        settings.leads_rate_limit,
        redis_url=settings.redis_url,
        namespace=settings.rate_limit_namespace,
        key=app.state.key_ring.current.derive("rate-limit"),
    )
    app.state.lead_admission = consultations.lead_admission(
        engine, ring=app.state.key_ring, limiter=app.state.lead_limiter, settings=settings
    )
    install_error_handlers(app)
    routers = (
        articles.router,
        changes.router,
        media.router,
        taxonomy.router,
        consultations.router,
        legal.router,
        admin_leads.router,
        admin_audit.router,
        admin_articles.router,
        admin_media.router,
        admin_previews.router,
        admin_reviewers.router,
        admin_webhooks.router,
        integrations.router,
        health.router,
    )
    for router in routers:
        app.include_router(router)
    if settings.metrics_enabled:
        app.include_router(metrics.router)
    # Every JSON body over 1 KiB that the router answers and the cache did not compress.
    app.add_middleware(JsonCompressionMiddleware)
    # In front of the router: every layer outside wraps a cached answer as a routed one (a
    # cached body is compressed already, once, in each coding, when it is built).
    app.add_middleware(
        ResponseCacheMiddleware, cache=app.state.response_cache, base=app.state.public_base
    )
    app.add_middleware(HeadAsGetMiddleware)
    app.add_middleware(
        RequestGuardMiddleware,
        max_body_bytes=settings.max_body_bytes,
        keyed_max_body_bytes=settings.keyed_max_body_bytes,
        body_timeout=settings.body_timeout,
    )
    app.add_middleware(CORSMiddleware, **cors_options(settings))
    app.add_middleware(SecurityHeadersMiddleware)
    observe = metrics.observe if settings.metrics_enabled else None
    app.add_middleware(RequestContextMiddleware, access_log=access_log, observe=observe)
    openapi.install(app)
    stop_tracing = start_tracing("clinic-api", engine, app)
    return app


def content_version(engine: Engine) -> int:
    """The content version the response caches compare against."""
    with read_session(engine) as session:
        return state.current_version(session=session)


def content_locales(engine: Engine) -> frozenset[str]:
    """The locales requests negotiate among (services.content.translations.content_locales)."""
    with read_session(engine) as session:
        return translations.content_locales(session=session)


@asynccontextmanager
async def run_dispatcher(engine: Engine, settings: Settings, ring: KeyRing) -> AsyncIterator[None]:
    """The in-process webhook dispatcher, unless workers deliver (CLINIC_ENV=production, or
    CLINIC_WEBHOOK_DISPATCHER_ENABLED=false)."""
    if not settings.webhook_dispatcher_enabled:
        yield
        return
    links = event_links_builder(settings.event_base_url)
    config = DispatchConfig.from_settings(settings, links=links, ring=ring)
    ttl = settings.idempotency_ttl
    async with delivering(
        engine, config, idempotency_ttl=ttl, production=settings.env == "production"
    ):
        yield


def __getattr__(name: str) -> FastAPI:
    """`main.app` (what `uvicorn main:app` serves) is built on first use, from the environment,
    so that importing `create_app` (tests, `cli openapi`) creates no key file or database."""
    if name != "app":
        raise AttributeError(f"module 'main' has no attribute {name!r}")
    application = create_app()
    globals()["app"] = application
    return application
