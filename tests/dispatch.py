"""Drive the webhook dispatcher explicitly, instead of waiting for a background one."""

import asyncio
import ssl
from functools import cache

import httpx
from fastapi import FastAPI

from services.dispatcher import DispatchConfig, Dispatcher


@cache
def _tls() -> ssl.SSLContext:
    """httpx's default TLS settings, loaded once (each load of the CA bundle costs ~50 ms)."""
    return httpx.create_ssl_context()


def drain(app: FastAPI) -> int:
    """Send every due delivery of `app`'s database now, batch after batch, until none is due;
    returns how many were sent. Each send has been answered when this returns.

    Use it with an app whose own dispatcher is off (`webhook_dispatcher_enabled=False`), so
    that nothing is sent behind the test's back."""
    dispatcher = Dispatcher(app.state.engine, DispatchConfig.from_settings(app.state.settings))

    async def run() -> int:
        sent = 0
        async with httpx.AsyncClient(
            timeout=dispatcher.cfg.timeout, follow_redirects=False, verify=_tls()
        ) as client:
            while batch := await dispatcher.run_once(client):
                sent += batch
        return sent

    return asyncio.run(run())
