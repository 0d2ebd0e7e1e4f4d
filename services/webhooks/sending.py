"""Sending one signed delivery: Standard Webhooks headers, an overall deadline, and at most
ANSWER_READ_LIMIT bytes of the answer read."""

import asyncio
import time
from contextlib import suppress
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
from standardwebhooks import Webhook

from core.errors import BlockedAddressError
from core.logging import describe_exception
from db.models import utcnow
from services.webhooks.attempts import AttemptOutcome, DispatchConfig, Job
from services.webhooks.transport import is_pinned

MAX_RETRY_AFTER = timedelta(days=1)
# What is read of an answer: its status and headers decide; a body past this is never read
# (a receiver answering 400 MB must not fill this process), and the connection is closed.
ANSWER_READ_LIMIT = 64 * 1024


def sign_headers(job: Job, now: datetime) -> dict[str, str]:
    """Standard Webhooks headers; during a secret rotation both secrets sign."""
    signatures = " ".join(Webhook(s).sign(job.msg_id, now, job.body) for s in job.secrets)
    headers = {
        "webhook-id": job.msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signatures,
        "content-type": "application/json",
        "user-agent": "clinic-webhooks/1",
    }
    if job.request_id is not None:
        headers["clinic-request-id"] = job.request_id
    return headers


def _retry_after(response: httpx.Response) -> timedelta | None:
    value = response.headers.get("retry-after")
    if response.status_code not in (429, 503) or not value:
        return None
    try:
        return min(timedelta(seconds=max(0, int(value))), MAX_RETRY_AFTER)
    except ValueError:
        with suppress(TypeError, ValueError):
            return min(max(parsedate_to_datetime(value) - utcnow(), timedelta()), MAX_RETRY_AFTER)
    return None


async def send(client: httpx.AsyncClient, job: Job, cfg: DispatchConfig) -> AttemptOutcome:
    """One signed POST, done or given up within `cfg.deadline`; never raises. Unless private
    URLs are allowed, `client` must come from `webhook_client`: it checks the addresses it
    connects to (see transport.py)."""
    start = time.perf_counter()
    if not cfg.allow_private and not is_pinned(client):
        return AttemptOutcome(None, "refused: this client does not check addresses", _ms(start))
    try:
        async with asyncio.timeout(cfg.deadline):
            return await _post(client, job, start)
    except TimeoutError:
        return AttemptOutcome(
            None, f"deadline: no whole answer within {cfg.deadline:g} s", _ms(start)
        )
    except BlockedAddressError:
        return AttemptOutcome(None, "blocked: the URL resolves to a private address", _ms(start))
    except httpx.HTTPError as exc:
        return AttemptOutcome(None, f"{type(exc).__name__}: {exc}"[:500], _ms(start))
    except Exception as exc:  # one bad delivery must fail alone, never the whole batch
        return AttemptOutcome(None, describe_exception(exc)[:500], _ms(start))


async def _post(client: httpx.AsyncClient, job: Job, start: float) -> AttemptOutcome:
    """The POST and its answer, of which at most ANSWER_READ_LIMIT bytes are read."""
    request = client.build_request(
        "POST", job.url, content=job.body.encode(), headers=sign_headers(job, utcnow())
    )
    response = await client.send(request, stream=True)
    try:
        read = 0
        async for chunk in response.aiter_raw():
            read += len(chunk)
            if read >= ANSWER_READ_LIMIT:
                break  # the rest is never read: closing drops the connection
    finally:
        await response.aclose()
    return AttemptOutcome(response.status_code, None, _ms(start), _retry_after(response))


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)
