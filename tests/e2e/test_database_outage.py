"""Red team: the database goes away under a stream of requests. Every answer meanwhile is a
503 problem with `Retry-After` (never a 500: a mobile app or a server action must be able to
tell a fault to retry from a bug), `/readyz` fails while it lasts, and once the database is
back the same requests succeed and nothing answered 201 was lost.

The outage is a TCP relay between the API and PostgreSQL that the test cuts and restores (the
suite's PostgreSQL serves other tests meanwhile, so the server itself stays up)."""

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import PG_URL, lead_body
from tests.servers import free_port, uvicorn_server

LEADS = "/v1/consultation-requests"


class Relay:
    """Forwards 127.0.0.1:port to PostgreSQL; `cut()` refuses new connections and drops the
    open ones, `restore()` accepts again."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.port = free_port()
        self.target = (target_host, target_port)
        self.loop = asyncio.new_event_loop()
        self.server: asyncio.base_events.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self._call(self._listen())

    def _call(self, coro: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    async def _listen(self) -> None:
        self.server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers |= {writer, up_writer}

        async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))
        self.writers -= {writer, up_writer}

    async def _cut(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        for writer in list(self.writers):
            writer.transport.abort()
        self.writers.clear()

    def cut(self) -> None:
        self._call(self._cut())

    def restore(self) -> None:
        self._call(self._listen())

    def close(self) -> None:
        self._call(self._cut())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@contextmanager
def relay_to(database_url: str) -> Iterator[tuple[Relay, str]]:
    """A relay in front of the database; yields it and the URL that goes through it."""
    url = make_url(database_url)
    relay = Relay(url.host or "127.0.0.1", url.port or 5432)
    try:
        yield (
            relay,
            url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False),
        )
    finally:
        relay.close()


@pytest.mark.skipif(PG_URL is None, reason="the outage is of PostgreSQL (TEST_DATABASE_URL)")
def test_an_unreachable_database_is_a_503_to_retry_never_a_500(seeded, tmp_path, issue_key):
    if seeded.backend != "postgresql":
        pytest.skip("the PostgreSQL run of this test covers the outage")
    reader = {"Authorization": f"Bearer {issue_key('leads:read')}"}
    env = {"CLINIC_LEADS_RATE_LIMIT": "none", "CLINIC_WEBHOOK_DISPATCHER_ENABLED": "false"}
    with (
        relay_to(seeded.url) as (relay, through),
        uvicorn_server(through, tmp_path / "server.log", env=env) as base,
        httpx.Client(base_url=base, timeout=60) as client,
    ):
        stored = []
        before = client.post(LEADS, json=lead_body(message="Before the outage."))
        assert before.status_code == 201
        stored.append(before.json()["id"])
        relay.cut()
        answers = [
            client.post(
                LEADS, json=lead_body(message=f"During {n}."), headers={"Idempotency-Key": f"o-{n}"}
            )
            for n in range(5)
        ]
        answers.append(client.get("/v1/admin/consultation-requests", headers=reader))
        for answer in answers:
            assert answer.status_code == 503, (answer.status_code, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.json()["code"] == "database_unavailable"
            assert int(answer.headers["retry-after"]) >= 1
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["code"] == "database_unavailable"
        relay.restore()
        # The same requests, retried with their keys, go in once the database is back.
        for n in range(5):
            again = client.post(
                LEADS, json=lead_body(message=f"During {n}."), headers={"Idempotency-Key": f"o-{n}"}
            )
            assert again.status_code == 201, again.text
            stored.append(again.json()["id"])
        assert client.get("/readyz").status_code == 200
        listed = client.get("/v1/admin/consultation-requests?page_size=200", headers=reader)
        assert set(stored) <= {lead["id"] for lead in listed.json()["data"]}
