"""A webhook receiver served by a real uvicorn on a loopback port. It verifies every delivery
with the public `standardwebhooks` package (we do not write our own verifier)."""

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.servers import free_port


@dataclass
class Received:
    """One delivery as the receiver saw it."""

    msg_id: str
    payload: dict[str, Any]
    headers: dict[str, str]
    at: float


@dataclass
class Receiver:
    """Records verified deliveries; `respond` decides each answer (status, headers)."""

    url: str = ""
    secrets: list[str] = field(default_factory=list)
    respond: Callable[[Received], tuple[int, dict[str, str]]] = lambda _: (200, {})
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    rejected: int = 0

    def unique(self) -> dict[str, Received]:
        """Deliveries by webhook-id (a retry after a lost answer may repeat one)."""
        return {r.msg_id: r for r in self.received}

    def wait_for(self, predicate: Callable[["Receiver"], bool], timeout: float = 20) -> None:
        """Block until `predicate(self)` holds."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; received {len(self.received)}")
            time.sleep(0.02)

    async def handle(self, request: Request) -> Response:
        """Verify with standardwebhooks, record, answer as told."""
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            payload = None
            for secret in self.secrets:
                try:
                    payload = Webhook(secret).verify(body, headers)
                    break
                except WebhookVerificationError:
                    continue
            if payload is None:
                raise WebhookVerificationError("no secret verified the signature")
        except WebhookVerificationError:
            self.rejected += 1
            return Response(status_code=401)
        if self.delay:
            await asyncio.sleep(self.delay)
        item = Received(headers["webhook-id"], payload, headers, time.monotonic())
        status, extra = self.respond(item)
        if 200 <= status < 300:
            self.received.append(item)
        return Response(status_code=status, headers=extra)


@contextmanager
def serve_receiver(receiver: Receiver) -> Iterator[Receiver]:
    """Run the receiver under uvicorn in a background thread."""
    port = free_port()
    app = Starlette(routes=[Route("/hook", receiver.handle, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("receiver did not start")
        time.sleep(0.02)
    receiver.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield receiver
    finally:
        server.should_exit = True
        thread.join(timeout=10)
