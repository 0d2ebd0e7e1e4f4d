"""Drive the webhook dispatcher explicitly, instead of waiting for a background one."""

import asyncio
import ssl
from functools import cache

import httpx
from fastapi import FastAPI

from api.links import event_links_builder
from services.webhooks.attempts import DispatchConfig
from services.webhooks.dispatcher import Dispatcher


@cache
def _tls() -> ssl.SSLContext:
    """httpx's default TLS settings, loaded once (each load of the CA bundle costs ~50 ms)."""
    return httpx.create_ssl_context()


def drain(app: FastAPI) -> int:
    """Send every due delivery of `app`'s database now, batch after batch, until none is due;
    returns how many were sent. Each send has been answered when this returns.

    Use it with an app whose own dispatcher is off (`webhook_dispatcher_enabled=False`), so
    that nothing is sent behind the test's back."""
    settings = app.state.settings
    config = DispatchConfig.from_settings(
        settings,
        links=event_links_builder(settings.event_base_url),
        ring=app.state.key_ring,
    )
    dispatcher = Dispatcher(app.state.engine, config)

    async def run() -> int:
        async with httpx.AsyncClient(
            timeout=config.timeout, follow_redirects=False, verify=_tls()
        ) as client:
            return await dispatcher.drain(client)

    return asyncio.run(run())
