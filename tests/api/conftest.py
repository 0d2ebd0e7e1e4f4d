"""Fixtures the API tests share."""

from collections.abc import Callable, Iterator

import pytest

from tests.webhook_receiver import Receiver, serve_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver over real HTTP that verifies every signature."""
    with serve_receiver(Receiver()) as r:
        yield r


@pytest.fixture
def manage(issue_key: Callable[..., str]) -> dict[str, str]:
    """Headers of a key that manages webhooks and reads and writes leads."""
    return {"Authorization": f"Bearer {issue_key('webhooks:manage', 'leads:read', 'leads:write')}"}
