"""The access log's own path: lines formatted by the JSON handler's formatter and, inside an
event loop, written together when the loop turn ends (one write for many requests)."""

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from core.logging import AccessLog, JsonFormatter


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
    handler = logging.StreamHandler(out)
    handler._clinic = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter())
    root.handlers[:] = [handler]
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
