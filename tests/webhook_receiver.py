"""Webhook receivers served by a real uvicorn on a loopback port. They verify every delivery
with the public `standardwebhooks` package (we do not write our own verifier)."""

import asyncio
import atexit
import socket
import threading
import time
import uuid
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

from tests.waiting import eventually


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
        eventually(lambda: predicate(self), timeout, f"(received {len(self.received)} so far)")

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


class _ReceiverServer:
    """One uvicorn, in a background thread, for every receiver of the test session: each
    receiver answers on a path of its own (starting and stopping a server per test costs more
    than the tests themselves)."""

    def __init__(self) -> None:
        self.receivers: dict[str, Receiver] = {}
        app = Starlette(routes=[Route("/hook/{rid}", self.handle, methods=["POST"])])
        # bound here, so no other process can take the port before the server listens
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = int(sock.getsockname()[1])
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self.thread.start()
        thread = self.thread
        eventually(
            lambda: self.server.started or not thread.is_alive(), 10, "for the receiver to start"
        )
        if not self.server.started:
            raise RuntimeError("receiver did not start")
        atexit.register(self.stop)

    async def handle(self, request: Request) -> Response:
        """Hand the delivery to the receiver whose path it was sent to."""
        receiver = self.receivers.get(request.path_params["rid"])
        if receiver is None:
            return Response(status_code=404)  # a receiver that was closed
        return await receiver.handle(request)

    def stop(self) -> None:
        """Stop the server (at exit)."""
        self.server.should_exit = True
        self.thread.join(timeout=10)


_server: _ReceiverServer | None = None
_server_lock = threading.Lock()


@contextmanager
def serve_receiver(receiver: Receiver) -> Iterator[Receiver]:
    """Serve the receiver over real HTTP on a loopback port, on a path of its own."""
    global _server
    with _server_lock:
        if _server is None:
            _server = _ReceiverServer()
    rid = uuid.uuid4().hex
    _server.receivers[rid] = receiver
    receiver.url = f"http://127.0.0.1:{_server.port}/hook/{rid}"
    try:
        yield receiver
    finally:
        del _server.receivers[rid]
