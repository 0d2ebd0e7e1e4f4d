"""Fixtures the API tests share."""

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.editorial_helpers import Desk
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


@pytest.fixture
def desk(
    make_client: Callable[..., Any],
    issue_key: Callable[..., str],
    add_reviewer: Callable[..., uuid.UUID],
) -> Desk:
    """A client with an editor's key (content:write) and the keys of two reviewers: Ana Ruiz,
    MD, and Ben Okafor, PharmD (content:review)."""
    ana = add_reviewer("Ana Ruiz", npi="1234567893")
    ben = add_reviewer("Ben Okafor", credentials="PharmD", specialty="Pharmacy")
    return Desk(
        make_client(),
        issue_key("content:write", name="editor"),
        issue_key("content:review", name="ana", reviewer=ana),
        issue_key("content:review", name="ben", reviewer=ben),
    )
