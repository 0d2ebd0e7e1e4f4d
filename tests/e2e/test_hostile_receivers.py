"""Red team: webhook receivers that misbehave, against the API's own dispatcher in a real
uvicorn. A receiver that answers 200 and then trickles its body one byte a second must hold
up no other endpoint's deliveries and is cut off at the attempt's deadline; a receiver that
answers with a 400 MB body is read no further than 64 KiB.

The finding (Security III, MEDIUM): the trickling receiver held up every other endpoint's
deliveries (0 of 4 in 80 s), since httpx's timeout counts each read alone and a batch waited
for its slowest attempt; and a 400 MB error body grew the process from 161 MB to 1,991 MB."""

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.conftest import lead_body
from tests.servers import free_port, uvicorn_server
from tests.waiting import eventually
from tests.webhook_receiver import Receiver, serve_receiver

HOOKS = "/v1/admin/webhook-endpoints"
HUGE = 400 * 1024 * 1024


@dataclass
class RawReceiver:
    """A receiver written at the socket level, to misbehave as no framework would."""

    port: int = 0
    requests: int = 0
    cut_off: int = 0  # connections the client closed while this one was still sending
    bytes_sent: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


async def _read_request(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    await reader.readexactly(length)


def _trickle(receiver: RawReceiver):
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        receiver.requests += 1
        sent = 0
        try:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
            for _ in range(120):  # a byte a second, for longer than any deadline
                writer.write(b"x")
                await writer.drain()
                sent += 1
                await asyncio.sleep(1)
                if reader.at_eof():
                    raise ConnectionResetError
        except (ConnectionError, OSError):
            receiver.cut_off += 1
        finally:
            receiver.bytes_sent.append(sent)
            writer.close()

    return handle


def _huge(receiver: RawReceiver):
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        receiver.requests += 1
        sent = 0
        chunk = b"\0" * 65536
        try:
            writer.write(b"HTTP/1.1 500 Oops\r\nContent-Length: %d\r\n\r\n" % HUGE)
            while sent < HUGE:
                writer.write(chunk)
                await writer.drain()
                sent += len(chunk)
        except (ConnectionError, OSError):
            receiver.cut_off += 1
        finally:
            receiver.bytes_sent.append(sent)
            writer.close()

    return handle


@contextmanager
def raw_receivers(*kinds: str) -> Iterator[list[RawReceiver]]:
    """Serve one raw receiver per kind (`trickle` or `huge`) on a loop in its own thread."""
    receivers = [RawReceiver(port=free_port()) for _ in kinds]
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    servers: list[asyncio.base_events.Server] = []

    async def start() -> None:
        for kind, receiver in zip(kinds, receivers, strict=True):
            handler = _trickle(receiver) if kind == "trickle" else _huge(receiver)
            servers.append(await asyncio.start_server(handler, "127.0.0.1", receiver.port))
        ready.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()))
    thread.start()
    ready.wait(10)
    try:
        yield receivers
    finally:

        async def stop() -> None:
            for server in servers:
                server.close()
            handlers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in handlers:  # the ones still trickling or sending
                task.cancel()
            await asyncio.gather(*handlers, return_exceptions=True)
            loop.stop()

        asyncio.run_coroutine_threadsafe(stop(), loop)
        thread.join(10)
        loop.close()


def _subscribe(client: httpx.Client, url: str, headers: dict[str, str]) -> dict[str, Any]:
    r = client.post(HOOKS, json={"url": url, "include_health_data": True}, headers=headers)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


def test_a_trickling_or_huge_receiver_holds_up_no_other_endpoint(seeded, tmp_path, issue_key):
    admin = {"Authorization": f"Bearer {issue_key('webhooks:manage', 'leads:read')}"}
    env = {
        "CLINIC_LEADS_RATE_LIMIT": "none",
        "CLINIC_WEBHOOK_DISPATCHER_ENABLED": "true",
        "CLINIC_WEBHOOK_ALLOW_PRIVATE_URLS": "true",
        "CLINIC_WEBHOOK_RETRY_SCHEDULE": "[3600]",  # one attempt each within the test
        # Far longer than the healthy deliveries need: they must land while the trickling
        # receiver is still being waited on (an order, not a time).
        "CLINIC_WEBHOOK_ATTEMPT_DEADLINE_SECONDS": "20",
    }
    with (
        raw_receivers("trickle", "huge") as (trickle, huge),
        serve_receiver(Receiver()) as healthy,
        uvicorn_server(seeded.url, tmp_path / "server.log", env=env) as base,
        httpx.Client(base_url=base, timeout=60) as client,
    ):
        slow = _subscribe(client, trickle.url, admin)
        big = _subscribe(client, huge.url, admin)
        healthy.secrets.append(_subscribe(client, healthy.url, admin)["secret"])
        first = client.post("/v1/consultation-requests", json=lead_body(message="First."))
        assert first.status_code == 201
        eventually(lambda: trickle.requests >= 1 and huge.requests >= 1, 30, "both attempts")
        for n in range(4):
            lead = client.post("/v1/consultation-requests", json=lead_body(message=f"Then {n}."))
            assert lead.status_code == 201
        healthy.wait_for(lambda r: len(r.unique()) == 5, timeout=30)
        assert trickle.cut_off == 0 and not trickle.bytes_sent, "the trickle was still going"
        # The trickling receiver is cut off at the deadline, and the attempt recorded as such.
        eventually(lambda: trickle.cut_off >= 1, 60, "the trickle cut off")

        def attempt_errors(endpoint: dict[str, Any]) -> list[str]:
            deliveries = client.get(f"{HOOKS}/{endpoint['id']}/deliveries", headers=admin).json()
            return [
                a["error"] or str(a["status_code"])
                for d in deliveries["data"]
                for a in d["attempt_log"]
            ]

        eventually(lambda: any("deadline" in e for e in attempt_errors(slow)), 30, "recorded")
        assert max(trickle.bytes_sent) < 60  # seconds' worth of bytes, not the 120 it offered
        # The huge answer: its status recorded, its body never read past 64 KiB (what the
        # socket buffers took is all it could send before the connection was closed).
        eventually(lambda: "500" in attempt_errors(big), 30, "the 500 recorded")
        eventually(lambda: len(huge.bytes_sent) >= 1, 30, "the huge answer cut off")
        assert max(huge.bytes_sent) < 32 * 1024 * 1024, huge.bytes_sent
