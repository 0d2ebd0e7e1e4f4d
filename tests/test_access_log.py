"""The access log's own path: lines formatted by the JSON handler's formatter and, inside an
event loop, written together when the loop turn ends (one write for many requests)."""

import asyncio
import io
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from core.config import PROJECT_ROOT
from core.logging import AccessLog, ClinicHandler, JsonFormatter


class _CountingStream(io.StringIO):
    """A stream that counts the writes it gets."""

    writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


@contextmanager
def _only_our_handler() -> Iterator[_CountingStream]:
    """Our JSON handler alone on the root logger, as in a served app: the only set-up in which
    the access log writes lines itself. (Entered inside a test: pytest adds its own capture
    handler to the root for each phase of a test.)"""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    out = _CountingStream()
    root.handlers[:] = [ClinicHandler(out, JsonFormatter())]
    root.setLevel(logging.INFO)
    try:
        yield out
    finally:
        root.handlers[:] = saved
        root.setLevel(level)


def _paths(out: io.StringIO) -> list[str]:
    return [json.loads(line)["path"] for line in out.getvalue().splitlines()]


def test_the_lines_of_one_loop_turn_are_written_together_when_it_ends():
    log = AccessLog("clinic.test-access")

    async def serve(stream: _CountingStream) -> None:
        for n in range(3):
            log.write(f"id{n}", "GET", f"/v1/articles/a{n}", "/v1/articles/{slug}", 200, 0.0012)
        assert stream.getvalue() == ""  # still this turn
        await asyncio.sleep(0)
        assert _paths(stream) == ["/v1/articles/a0", "/v1/articles/a1", "/v1/articles/a2"]

    with _only_our_handler() as stream:
        asyncio.run(serve(stream))
    assert stream.writes == 1
    first = json.loads(stream.getvalue().splitlines()[0])
    assert first["event"] == "request" and first["request_id"] == "id0"
    assert (first["status"], first["duration_ms"], first["route"]) == (
        200,
        1.2,
        "/v1/articles/{slug}",
    )


def test_a_long_turn_writes_every_256_lines_and_shutdown_writes_the_rest():
    log = AccessLog("clinic.test-access")

    async def serve(stream: _CountingStream) -> None:
        for n in range(300):
            log.write(f"id{n}", "GET", f"/p{n}", None, 200, 0.0)
        assert len(_paths(stream)) == 256  # written without waiting for the turn to end
        log.flush()  # what the app's shutdown calls
        assert len(_paths(stream)) == 300

    with _only_our_handler() as stream:
        asyncio.run(serve(stream))
    assert _paths(stream) == [f"/p{n}" for n in range(300)]


def test_outside_an_event_loop_a_line_is_written_at_once():
    with _only_our_handler() as stream:
        AccessLog("clinic.test-access").write("id", "POST", "/v1/x", None, 201, 0.5)
    assert _paths(stream) == ["/v1/x"] and stream.writes == 1


def test_a_line_break_in_a_path_stays_inside_its_line():
    log = AccessLog("clinic.test-access")
    forged = '/v1/nope\u2028{"forged": 1}\n\r\x85'

    async def serve() -> None:
        log.write("id", "GET", forged, None, 404, 0.0)
        log.write("id2", "GET", "/v1/ok", None, 200, 0.0)

    with _only_our_handler() as stream:
        asyncio.run(serve())
    assert _paths(stream) == [forged, "/v1/ok"]


# A served app's set-up: our JSON handler alone on the root, on stderr; a busy event loop
# answers many requests in one turn (64 here, under the 256 the log lets wait).
_WORKER = """
import asyncio, logging, sys
from core.logging import AccessLog, ClinicHandler, JsonFormatter

logging.getLogger().handlers[:] = [ClinicHandler(sys.stderr, JsonFormatter())]
logging.getLogger().setLevel(logging.INFO)
log = AccessLog("clinic.http")
worker = sys.argv[1]

async def serve():
    for turn in range(40):
        for n in range(64):
            path = f"/v1/articles/{worker}-{turn}-{n}-" + "a" * 200
            log.write(f"{worker}-{turn}-{n}", "GET", path, "/v1/articles/{slug}", 200, 0.001)
        await asyncio.sleep(0)

asyncio.run(serve())
"""


def test_two_worker_processes_on_one_stderr_pipe_never_garble_each_others_lines():
    """`cli serve --workers 2` (the Procfile's api) shares one stderr pipe between processes
    (found by a review: batches written whole, over PIPE_BUF, came out interleaved)."""
    read_end, write_end = os.pipe()
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    workers = [
        subprocess.Popen([sys.executable, "-c", _WORKER, name], stderr=write_end, env=env)
        for name in ("w1", "w2")
    ]
    os.close(write_end)
    received = b""
    try:
        # A log reader that is a little slower than the writers (as under load): the pipe
        # fills, and a write larger than PIPE_BUF (4096 bytes) is no longer atomic.
        while chunk := os.read(read_end, 1024):
            received += chunk
            time.sleep(0.0005)
    finally:
        os.close(read_end)
        for w in workers:
            w.wait(timeout=60)
    lines = received.decode().splitlines()
    garbled = []
    for line in lines:
        try:
            json.loads(line)
        except ValueError:
            garbled.append(line[:120])
    assert garbled == [], f"{len(garbled)} of {len(lines)} lines garbled, e.g. {garbled[:2]}"
    assert len(lines) == 2 * 40 * 64
