"""What an article's events carry, and which event a change of status means."""

from datetime import timedelta
from typing import Any

from sqlmodel import Session

from db.models import Article
from schemas.vocabulary import ArticleStatus, EventType
from services.content.state import VERSION_REFRESH_SECONDS
from services.events import outbox


def article_data(article: Article) -> dict[str, Any]:
    """An article as an event stores it."""
    return {
        "id": str(article.id),
        "slug": article.slug,
        "locale": article.locale,
        "title": article.title,
        "status": article.status,
        "revision": article.revision,
        "published_at": article.published_at.isoformat() if article.published_at else None,
        "updated_at": article.updated_at.isoformat(),
    }


def article_event_type(before: str | None, after: str) -> EventType | None:
    """Which article event a status change (and a content change) means, if any."""
    if after == ArticleStatus.PUBLISHED:
        if before == ArticleStatus.PUBLISHED:
            return EventType.ARTICLE_UPDATED
        return EventType.ARTICLE_PUBLISHED
    return EventType.ARTICLE_UNPUBLISHED if before == ArticleStatus.PUBLISHED else None


# An article event is first sent once every API process has seen the change: a receiver that
# reads the article at once (a site revalidating its page) would otherwise be answered from a
# process's cache of the old text, and keep it until the next change.
SETTLE = timedelta(seconds=2 * VERSION_REFRESH_SECONDS)


def emit_article_change(*, session: Session, article: Article, before: str | None) -> None:
    """Emit article.published/updated/unpublished for a changed article, in its transaction."""
    event_type = article_event_type(before, article.status)
    if event_type:
        outbox.emit(
            session=session,
            type=event_type,
            data=article_data(article),
            subject_id=str(article.id),
            hold=SETTLE,
        )
