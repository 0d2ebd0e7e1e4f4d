"""Articles as editors and reviewers read them (schemas.editorial): any state, the newest
revision's content, its reviews, and what publishing it still needs."""

from sqlmodel import Session, select

from db.editorial_models import ArticleReview
from db.models import Article, ArticleRevision, as_utc
from schemas.editorial import (
    ArticleAdmin,
    ArticleAdminSummary,
    ArticleWrite,
    ReviewRecord,
    RevisionPublic,
    RevisionSummary,
    ScheduledPublish,
)
from schemas.reviewers import ReviewerPublic
from schemas.vocabulary import ArticleStatus, ReviewDecision, ReviewRole
from services.content import editorial, publishing, reviews
from services.content.revisions import Snapshot


def summary(article: Article) -> ArticleAdminSummary:
    """One line of the editorial list."""
    return ArticleAdminSummary(**_summary_fields(article))


def _summary_fields(article: Article) -> dict[str, object]:
    scheduled = (
        ScheduledPublish(revision=article.scheduled_revision, at=as_utc(article.scheduled_at))
        if article.scheduled_revision is not None and article.scheduled_at is not None
        else None
    )
    return {
        "id": article.id,
        "slug": article.slug,
        "locale": article.locale,
        "title": article.title,
        "status": article.status,
        "revision": article.latest_revision,
        "published_revision": article.revision
        if article.status == ArticleStatus.PUBLISHED
        else None,
        "updated_at": as_utc(article.updated_at),
        "published_at": as_utc(article.published_at) if article.published_at else None,
        "scheduled": scheduled,
    }


def article_view(session: Session, article: Article, *, production: bool) -> ArticleAdmin:
    """An article whole, as of its newest revision."""
    newest = editorial.newest_revision(session, article)
    snapshot = Snapshot.load(newest.snapshot)
    return ArticleAdmin(
        **_summary_fields(article),
        content=ArticleWrite(
            **snapshot.content.model_dump(), hero_media_id=(snapshot.hero or {}).get("media_id")
        ),
        content_hash=newest.content_hash,
        hero_image=snapshot.hero,
        reviews=[
            review_record(decision, reviewer)
            for decision, reviewer in reviews.decisions(session, article, newest.content_hash)
        ]
        if newest.content_hash
        else [],
        unmet_requirements=publishing.requirements(session, article, newest, production=production),
    )


def review_record(decision: ArticleReview, reviewer: object) -> ReviewRecord:
    """A stored decision with its reviewer's record."""
    return ReviewRecord(
        id=decision.id,
        article_id=decision.article_id,
        revision=decision.revision,
        content_hash=decision.content_hash,
        decision=ReviewDecision(decision.decision),
        role=ReviewRole(decision.role),
        reviewer=ReviewerPublic.model_validate(reviewer),
        decided_at=as_utc(decision.decided_at),
        next_review_due=decision.next_review_due,
        note=decision.note,
    )


def approved_hashes(session: Session, article: Article) -> set[str]:
    """The content hashes of this article that have a standing approval."""
    hashes = session.exec(
        select(ArticleReview.content_hash).where(ArticleReview.article_id == article.id).distinct()
    )
    return {h for h in hashes if reviews.approval(session, article, h) is not None}


def revision_summary(row: ArticleRevision, approved: set[str]) -> RevisionSummary:
    """One revision in the history."""
    return RevisionSummary(**_revision_fields(row, approved))


def _revision_fields(row: ArticleRevision, approved: set[str]) -> dict[str, object]:
    return {
        "revision": row.revision,
        "content_hash": row.content_hash,
        "source": row.source,
        "author_key_id": row.author_key_id,
        "created_at": as_utc(row.created_at),
        "title": str(row.snapshot.get("title", "")),
        "approved": bool(row.content_hash) and row.content_hash in approved,
    }


def revision_view(row: ArticleRevision, approved: set[str]) -> RevisionPublic:
    """One revision whole."""
    snapshot = Snapshot.load(row.snapshot)
    return RevisionPublic(
        **_revision_fields(row, approved), content=snapshot.content, hero_image=snapshot.hero
    )
