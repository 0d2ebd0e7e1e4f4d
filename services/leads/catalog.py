"""What a lead is checked against, held in memory per content version: the known therapy and
condition slugs, every consent wording, every disclaimer version, and what each article's
readers are shown.

All of it changes only through a content import, and every import that changes anything bumps
the content version (`services.content.state`). Each unit of work that stores leads (one, or a
group commit's batch) reads that version in its own transaction (one tiny query) and is
answered from the snapshot of exactly that version, so the very lead after an import sees the
new content: a snapshot is never stale, only replaced."""

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cachetools import LRUCache
from sqlmodel import Session, select

from db.models import Condition, Disclaimer, Therapy
from services.content import articles, state
from services.content.term_words import for_locale
from services.leads import consent
from services.leads.consent import ConsentWording

# How many (article, locale) answers a snapshot keeps: a site may hold 10,000 articles, while
# leads come from far fewer; one that was forgotten costs its few queries again.
ARTICLES_KEPT = 2048

Shown = tuple[dict[str, Any], ...] | None
_ABSENT: Any = object()


@dataclass(frozen=True)
class CatalogSnapshot:
    """The intake's look-ups at one content version. Built whole and never changed, except
    for the per-article answers it fills in as leads ask for them."""

    version: int
    therapies: frozenset[str]
    conditions: frozenset[str]
    disclaimer_versions: frozenset[tuple[str, int]]  # (key, version), every locale, old ones too
    consent_wordings: Mapping[str, Mapping[str, ConsentWording]]  # version → locale → wording
    # The answers per (article, locale), least recently used forgotten first. Leads fill it
    # from worker threads: its few operations take the lock (never held while one is made).
    _shown: LRUCache[tuple[str, str], Shown] = field(repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def consent(self, version: str, *, locale: str, default_locale: str) -> ConsentWording | None:
        """The wording of consent `version` as a form in `locale` showed it (None: unknown)."""
        return for_locale(
            self.consent_wordings.get(version, {}), locale=locale, default_locale=default_locale
        )

    def disclaimers_shown(
        self, session: Session, *, slug: str, locale: str
    ) -> list[dict[str, Any]] | None:
        """`articles.disclaimers_shown` at this version, asked of `session` once per article
        and locale; each caller gets its own copies to store."""

        key = (slug, locale)
        with self._lock:
            shown = self._shown.get(key, _ABSENT)
        if shown is _ABSENT:  # two threads may both ask: the same answer, kept once
            found = articles.disclaimers_shown(session=session, slug=slug, locale=locale)
            shown = None if found is None else tuple(found)
            with self._lock:
                self._shown[key] = shown
        return None if shown is None else [dict(d) for d in shown]


class IntakeCatalog:
    """The snapshot of the content version a lead's transaction sees. One per app, kept across
    requests (leads run in worker threads: a snapshot is swapped whole, never edited in place);
    a one-off caller may use a fresh one, which loads the snapshot once."""

    def __init__(self, *, articles_kept: int = ARTICLES_KEPT) -> None:
        self._articles_kept = articles_kept
        self._snapshot: CatalogSnapshot | None = None

    def current(self, session: Session) -> CatalogSnapshot:
        """The snapshot of the content version `session` reads now."""
        version = state.current_version(session=session)
        snapshot = self._snapshot
        if snapshot is None or snapshot.version != version:
            snapshot = _load(session, version, self._articles_kept)
            self._snapshot = snapshot
        return snapshot


def _load(session: Session, version: int, articles_kept: int) -> CatalogSnapshot:
    # Read after the version in the same transaction: what is read is that version's content
    # or newer, never older (an import writes both in one transaction).
    disclaimers = session.exec(select(Disclaimer.key, Disclaimer.version))
    return CatalogSnapshot(
        version=version,
        therapies=frozenset(session.exec(select(Therapy.slug))),
        conditions=frozenset(session.exec(select(Condition.slug))),
        disclaimer_versions=frozenset((key, number) for key, number in disclaimers),
        consent_wordings=consent.wordings(session=session),
        _shown=LRUCache(articles_kept),
    )
