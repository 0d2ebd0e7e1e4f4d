"""Waiting FOR something to happen, with a generous deadline. (Never wait to prove that
nothing happens: drive the component explicitly instead, e.g. tests.dispatch.drain.)

Every test waits through these two: a condition polled until it holds or the deadline passes.
What other tests pause for is not a wait: a yield of one event-loop turn (`asyncio.sleep(0)`),
or a simulated party that is slow on purpose (a receiver's delay, a trickling client)."""

import asyncio
import time
from collections.abc import Callable

_POLL_SECONDS = 0.02


def eventually(predicate: Callable[[], bool], timeout: float = 30, what: str = "") -> None:
    """Return once `predicate()` holds; fail the test if it does not within `timeout`."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting {timeout:g} s {what}".rstrip()
        time.sleep(_POLL_SECONDS)


async def eventually_async(
    predicate: Callable[[], bool], timeout: float = 30, what: str = ""
) -> None:
    """`eventually` inside an event loop: the loop runs on while it waits."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting {timeout:g} s {what}".rstrip()
        await asyncio.sleep(_POLL_SECONDS)
