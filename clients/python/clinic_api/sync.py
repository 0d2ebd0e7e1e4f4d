"""Change-feed sync (`GET /v1/changes`): what changed since a cursor, in commit order, and the
cursor to keep. A 410 means the history was pruned past the cursor: sync everything again."""

from dataclasses import dataclass

from clinic_api_client import Client
from clinic_api_client.api.changes import list_changes
from clinic_api_client.models import ChangeList, ChangePublic

from clinic_api.problems import raise_problem


@dataclass(frozen=True)
class SyncResult:
    """The entries to apply in order, and the cursor to keep (`since` when nothing is new)."""

    changes: list[ChangePublic]
    cursor: str


@dataclass(frozen=True)
class Resync:
    """The cursor is older than the history the server keeps: drop the local copy and read
    every article again (`all_articles`), keeping the first page's `meta.changes_cursor`."""


def changes_since(client: Client, since: str, limit: int = 100) -> SyncResult | Resync:
    """Every entry after `since` (every page: `meta.has_more` is followed)."""
    changes: list[ChangePublic] = []
    cursor = since
    while True:
        answer = list_changes.sync_detailed(client=client, since=cursor, limit=limit)
        if answer.status_code == 410:
            return Resync()
        if not isinstance(answer.parsed, ChangeList):
            raise_problem(answer.status_code, answer.parsed)
        assert isinstance(answer.parsed, ChangeList)
        changes.extend(answer.parsed.data)
        cursor = answer.parsed.meta.next_cursor
        if not answer.parsed.meta.has_more:
            return SyncResult(changes, cursor)
