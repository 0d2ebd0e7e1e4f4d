"""Waiting FOR something to happen, with a generous deadline. (Never wait to prove that
nothing happens: drive the component explicitly instead, e.g. tests.dispatch.drain.)"""

import time
from collections.abc import Callable


def eventually(predicate: Callable[[], bool], timeout: float = 30, what: str = "") -> None:
    """Return once `predicate()` holds; fail the test if it does not within `timeout`."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting {timeout:g} s {what}".rstrip()
        time.sleep(0.02)
