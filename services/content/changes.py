"""The public change feed: every change to public content, in commit order, recorded in the
transaction of the change, read with an opaque cursor, and pruned after a retention window."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from core.errors import GoneError
from db.models import (
    Article,
    Condition,
    ContentChange,
    ContentState,
    Therapy,
    as_utc,
    utcnow,
)
from schemas.changes import ChangePublic
from schemas.vocabulary import TOMBSTONES, ArticleStatus, ChangeType
from services.content.events import article_event_type
from services.content.state import STATE_ID
from services.cursors import decode_id, encode_id

_LOCKED = "content_changes_locked"
_ENTERED_PAGES = "content_changes_pages"


def serialize(*, session: Session) -> None:
    """Take the content state row's lock now, for the rest of the transaction: an import calls
    this first, so that two imports at once run one after the other instead of both computing
    the same next revision of an article (PostgreSQL; SQLite has one writer anyway)."""
    _serialize(session)


def _serialize(session: Session) -> None:
    """Hold the content state row until commit before the first entry of a transaction, so
    that entries commit in id order (PostgreSQL; SQLite has one writer anyway) and a reader
    never passes an id that a slower transaction commits later."""
    if session.info.get(_LOCKED):
        return
    session.exec(select(ContentState).where(ContentState.id == STATE_ID).with_for_update())
    session.info[_LOCKED] = True


def record(
    *,
    session: Session,
    type: ChangeType,
    slug: str,
    article: Article | None = None,
) -> None:
    """Add one entry to the feed, in the caller's transaction (a page that is not an article
    is entered once per transaction, however many changes touched it)."""
    _serialize(session)
    if article is None:
        entered: set[tuple[str, str]] = session.info.setdefault(_ENTERED_PAGES, set())
        if (type, slug) in entered:
            return
        entered.add((type, slug))
    session.add(
        ContentChange(
            type=type,
            slug=slug,
            article_id=article.id if article else None,
            locale=article.locale if article else None,
            revision=article.revision if article else None,
        )
    )


def article_change(before: str | None, after: str) -> ChangeType | None:
    """Which entry a status change (and a content change) of an article makes, if any: the
    same rule as its webhook event (article.published, .updated, .unpublished)."""
    event = article_event_type(before, after)
    return ChangeType(event.value) if event is not None else None


def record_article(*, session: Session, article: Article, before: str | None) -> bool:
    """Enter a changed article if the change is public; returns whether it was entered."""
    change = article_change(before, article.status)
    if change is None:
        return False
    record(session=session, type=change, slug=article.slug, article=article)
    return True


def record_dependents(*, session: Session, entered: set[uuid.UUID]) -> None:
    """Taxonomy names and disclaimers are part of every published article's representation:
    when they change, each published article not entered yet is entered as updated."""
    published = session.exec(
        select(Article)
        .where(Article.status == ArticleStatus.PUBLISHED)
        .order_by(col(Article.slug), col(Article.locale))
    )
    for article in published:
        if article.id not in entered:
            record(
                session=session, type=ChangeType.ARTICLE_UPDATED, slug=article.slug, article=article
            )


def record_term_pages(*, session: Session) -> None:
    """Every therapy's and condition's page lists its published articles (title, summary,
    disclaimers): after an import entered any article, each page is entered as changed. There
    are a handful of pages, so naming all of them is cheap and also covers the page an article
    just left (its old terms are gone by now)."""
    for model, change in (
        (Therapy, ChangeType.THERAPY_CHANGED),
        (Condition, ChangeType.CONDITION_CHANGED),
    ):
        for slug in session.exec(select(model.slug).order_by(col(model.slug))):
            record(session=session, type=change, slug=slug)


def prune(*, session: Session, keep: timedelta, now: datetime | None = None) -> int:
    """Drop entries older than `keep` and move the horizon past them; returns how many."""
    cutoff = (now or utcnow()) - keep
    newest_old = session.exec(
        select(func.max(ContentChange.id)).where(col(ContentChange.changed_at) < cutoff)
    ).one()
    if newest_old is None:
        return 0
    _serialize(session)
    result = session.execute(delete(ContentChange).where(col(ContentChange.id) <= newest_old))
    state = session.get(ContentState, STATE_ID) or ContentState(id=STATE_ID)
    state.changes_pruned_through = max(state.changes_pruned_through, newest_old)
    session.add(state)
    session.flush()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ChangePage:
    """Entries after a cursor, and the cursor to ask from next."""

    items: list[ChangePublic]
    next_cursor: str
    has_more: bool


def _expired(detail: str) -> GoneError:
    return GoneError(
        detail + " Resync: fetch GET /v1/articles (and the taxonomies), then follow the feed "
        "from its `meta.changes_cursor`.",
        code="cursor_expired",
    )


def list_changes(*, session: Session, since: str | None, limit: int) -> ChangePage:
    """Up to `limit` entries after `since` (from the start of the history when None), oldest
    first. A cursor from before the retained history, or from no history of this server,
    is gone: the client must resync."""
    after = decode_id(since, field="since") if since is not None else 0
    state = session.get(ContentState, STATE_ID)
    horizon = state.changes_pruned_through if state else 0
    if after < horizon:
        raise _expired("This cursor is older than the change history kept.")
    rows = list(
        session.exec(
            select(ContentChange)
            .where(col(ContentChange.id) > after)
            .order_by(col(ContentChange.id))
            .limit(limit + 1)
        )
    )
    if not rows:
        newest = session.exec(select(func.max(ContentChange.id))).one() or 0
        if after > max(newest, horizon):
            raise _expired("This cursor is from no history this server holds.")
    more = len(rows) > limit
    rows = rows[:limit]
    items = [_public(r) for r in rows]
    last = rows[-1].id if rows else None
    return ChangePage(
        items=items,
        next_cursor=encode_id(last) if last is not None else encode_id(after),
        has_more=more,
    )


def current_cursor(*, session: Session) -> str:
    """The cursor after the newest entry: a full read made after this point, followed by the
    feed from it, misses nothing."""
    state = session.get(ContentState, STATE_ID)
    newest = session.exec(select(func.max(ContentChange.id))).one() or 0
    return encode_id(max(newest, state.changes_pruned_through if state else 0))


def _public(row: ContentChange) -> ChangePublic:
    change = ChangeType(row.type)
    assert row.id is not None
    return ChangePublic(
        cursor=encode_id(row.id),
        type=change,
        deleted=change in TOMBSTONES,
        id=row.article_id,
        slug=row.slug,
        locale=row.locale,
        revision=row.revision,
        changed_at=as_utc(row.changed_at),
    )
