"""Publishing one approved revision, now or at a time, and taking an article down again. What
the public sees changes only here and in the file import, and both announce it the same way:
the change feed, the webhook events and the content version (which stales the response cache).

A scheduled publish is claimed by one conditional UPDATE, so it happens once however many API
processes and workers look for due ones."""

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from core.errors import ConflictError
from core.logging import describe_exception
from db.models import Article, ArticleRevision, MediaAsset, as_utc, utcnow
from db.session import read_session, run_unit_of_work
from schemas.vocabulary import ArticleStatus, AuditAction
from services.access import audit
from services.access.api_keys import Principal
from services.content import (
    changes,
    editorial,
    media_library,
    reviewers,
    reviews,
    rules,
    state,
)
from services.content.article_rows import announce, term_ids, write_content
from services.content.revisions import Snapshot
from services.content.stored_rules import stored_bundle

log = logging.getLogger("clinic.publishing")
SCHEDULE_POLL_SECONDS = 1.0


def requirements(
    session: Session, article: Article, row: ArticleRevision, *, production: bool
) -> list[str]:
    """Everything publishing this revision still needs (empty: it may be published): the
    import's rules and compliance policy, and the review `reviews.unmet` asks for: a standing
    medical approval of exactly this content, not overdue (and a translation review of a
    translation) and, in production, no placeholder reviewer."""
    if not row.content_hash:
        return [
            f"revision: revision {row.revision} was stored before revisions had a content "
            "hash; restore it to make one that can be approved"
        ]
    content = Snapshot.load(row.snapshot).content
    bundle = stored_bundle(session)
    unmet = [*rules.article_problems(bundle, content), *rules.published_problems(bundle, content)]
    unmet += reviews.unmet(
        session,
        article,
        row.content_hash,
        missing=f"no reviewer has approved revision {row.revision} "
        f"(content {row.content_hash[:12]})",
        translation_of=content.translation_of,
        production=production,
        today=utcnow().date(),
    )
    return unmet


@dataclass(frozen=True)
class PublishOutcome:
    """What `publish` did: published now, or scheduled for `at`."""

    article: Article
    scheduled: bool


def publish(
    *,
    session: Session,
    article_id: uuid.UUID,
    revision: int,
    at: datetime | None,
    actor: Principal,
    production: bool,
) -> PublishOutcome:
    """Publish revision `revision` now (no `at`, or a past one) or schedule it for `at`; a
    revision that does not meet every requirement is a ConflictError listing them all.
    Publishing the revision that is public already changes nothing (but cancels a schedule)."""
    article = editorial.get(session, article_id, for_update=True)
    row = editorial.revision_row(session, article, revision)
    _refuse_unmet(session, article, row, production=production)
    now = utcnow()
    live = article.status == ArticleStatus.PUBLISHED and article.revision == revision
    if at is not None and at > now and not live:
        article.scheduled_revision, article.scheduled_at = revision, at
        article.scheduled_by = actor.key_id
        article.source_path = ""  # an import no longer decides what is public
        session.add(article)
        _audit(session, actor.key_id, AuditAction.ARTICLE_SCHEDULE, article, revision, at=at)
        return PublishOutcome(article, scheduled=True)
    if live:
        article.scheduled_revision = article.scheduled_at = article.scheduled_by = None
        session.add(article)
        return PublishOutcome(article, scheduled=False)
    _publish_now(session, article, row, actor.key_id, now)
    return PublishOutcome(article, scheduled=False)


def _refuse_unmet(
    session: Session, article: Article, row: ArticleRevision, *, production: bool
) -> None:
    unmet = requirements(session, article, row, production=production)
    if unmet:
        raise ConflictError(
            f"Revision {row.revision} cannot be published: {len(unmet)} requirement(s) unmet.",
            code="publish_requirements_unmet",
            unmet_requirements=unmet,
        )


def _publish_now(
    session: Session,
    article: Article,
    row: ArticleRevision,
    actor: uuid.UUID | None,
    now: datetime,
) -> None:
    found = reviews.approval(session, article, row.content_hash)
    assert found is not None, "requirements() checked it"
    decision, reviewer = found
    before = article.status
    write_content(
        session,
        article,
        _with_renditions(session, Snapshot.load(row.snapshot)),
        digest=row.content_hash,
        now=now,
        terms=term_ids(session),
        new=False,
    )
    article.revision, article.status = row.revision, ArticleStatus.PUBLISHED
    article.published_at = article.published_at if before == ArticleStatus.PUBLISHED else now
    article.reviewer = reviewers.public_record(reviewer)
    article.reviewed_at = as_utc(decision.decided_at).date()
    article.next_review_due = decision.next_review_due
    article.approval_id = decision.id
    article.review_signoffs = reviews.signoff_records(
        reviews.standing(session, article, row.content_hash)
    )
    article.scheduled_revision = article.scheduled_at = article.scheduled_by = None
    article.source_path = ""  # an import no longer decides what is public
    session.add(article)
    session.flush()
    _went_public(session, article, before)
    _audit(session, actor, AuditAction.ARTICLE_PUBLISH, article, row.revision)


def _with_renditions(session: Session, snapshot: Snapshot) -> Snapshot:
    """The snapshot with its image's renditions as stored now: a revision that waited longer
    than the retention of unused renditions gets them made again from the kept source."""
    media_id = (snapshot.hero or {}).get("media_id")
    if media_id is None:
        return snapshot
    asset = session.get(MediaAsset, uuid.UUID(str(media_id)))
    if asset is None:
        return snapshot
    assert snapshot.hero is not None
    return Snapshot(snapshot.content, {**snapshot.hero, **media_library.described(session, asset)})


def take_down(
    *, session: Session, article_id: uuid.UUID, archive: bool, actor: Principal
) -> Article:
    """Unpublish (back to draft) or archive an article; either cancels a scheduled publish.
    Unpublishing an article that is neither published nor scheduled is a ConflictError."""
    article = editorial.get(session, article_id, for_update=True)
    target = ArticleStatus.ARCHIVED if archive else ArticleStatus.DRAFT
    # Unpublishing a draft that waits for its time cancels the schedule; else it is a 409.
    waiting = article.scheduled_revision is not None
    if not archive and article.status != ArticleStatus.PUBLISHED and not waiting:
        raise ConflictError(f"Article {article.id} is {article.status}.", code="not_published")
    before = article.status
    article.scheduled_revision = article.scheduled_at = article.scheduled_by = None
    if before != target:
        article.status, article.updated_at = target, utcnow()
        article.source_path = ""  # an import no longer decides what is public
        if before == ArticleStatus.PUBLISHED:
            article.approval_id = None
        session.add(article)
        session.flush()
        _went_public(session, article, before)
    action = AuditAction.ARTICLE_ARCHIVE if archive else AuditAction.ARTICLE_UNPUBLISH
    _audit(session, actor.key_id, action, article, article.revision)
    return article


def _went_public(session: Session, article: Article, before: str | None) -> None:
    """Announce a change as the import does: event, feed entry, term pages, content version."""
    if announce(session=session, article=article, before=before):
        changes.record_term_pages(session=session)
        state.bump(session=session)


def _audit(
    session: Session,
    actor: uuid.UUID | None,
    action: AuditAction,
    article: Article,
    revision: int,
    **extra: object,
) -> None:
    detail = {"article_id": str(article.id), "revision": revision}
    detail.update({k: v.isoformat() if isinstance(v, datetime) else v for k, v in extra.items()})
    audit.record(session=session, actor=actor, action=action, detail=detail)


def publish_due(session: Session, *, production: bool, now: datetime | None = None) -> int:
    """Publish every scheduled revision whose time has come; returns how many were published.
    Each is claimed by clearing its schedule with a conditional UPDATE: the process whose
    UPDATE changed the row publishes it, in the same transaction; any other sees no row."""
    now = now or utcnow()
    due = session.exec(
        select(Article.id, Article.scheduled_revision, Article.scheduled_by, Article.scheduled_at)
        .where(col(Article.scheduled_at) <= now, col(Article.scheduled_revision).is_not(None))
        .order_by(col(Article.scheduled_at))
    ).all()
    published = 0
    if due:
        changes.serialize(session=session)
    for article_id, revision, by, at in due:
        claimed = session.execute(
            update(Article)
            .where(
                col(Article.id) == article_id,
                col(Article.scheduled_revision) == revision,
                col(Article.scheduled_at) == at,  # not a later schedule of the same revision
            )
            .values(scheduled_revision=None, scheduled_at=None, scheduled_by=None)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue
        try:
            with session.begin_nested():  # one article that fails does not hold up the rest
                published += _publish_claimed(session, article_id, int(revision or 0), by, now,
                                              production=production)  # fmt: skip
        except Exception as exc:
            log.error(
                "scheduled_publish_failed",
                extra={"article_id": str(article_id), "error": describe_exception(exc)},
            )
    return published


def _publish_claimed(
    session: Session,
    article_id: uuid.UUID,
    revision: int,
    by: uuid.UUID | None,
    now: datetime,
    *,
    production: bool,
) -> int:
    """Publish a claimed schedule if its revision still meets every requirement (1), or
    record that it did not (0)."""
    article = editorial.get(session, article_id)
    session.refresh(article)
    row = editorial.revision_row(session, article, revision)
    unmet = requirements(session, article, row, production=production)
    if unmet:  # e.g. a request for changes came after the schedule
        _audit(session, by, AuditAction.ARTICLE_PUBLISH_FAILED, article, row.revision,
               unmet=len(unmet))  # fmt: skip
        log.warning(
            "scheduled_publish_refused",
            extra={"article_id": str(article_id), "revision": row.revision, "unmet": unmet},
        )
        return 0
    _publish_now(session, article, row, by, now)
    return 1


def _any_due(engine: Engine) -> bool:
    with read_session(engine) as session:
        due = session.exec(
            select(Article.id).where(col(Article.scheduled_at) <= utcnow()).limit(1)
        ).first()
        return due is not None


async def publish_periodically(
    engine: Engine,
    *,
    production: bool,
    stop: asyncio.Event,
    every: float = SCHEDULE_POLL_SECONDS,
) -> None:
    """Publish due scheduled revisions now and every `every` seconds until `stop`."""
    while not stop.is_set():
        try:
            # A read first: on SQLite a write transaction each second would queue every
            # writer behind a look that finds nothing due.
            count = (
                await run_unit_of_work(
                    engine, lambda session: publish_due(session, production=production)
                )
                if await asyncio.to_thread(_any_due, engine)
                else 0
            )
        except Exception as exc:  # the database is away: try again next time
            log.warning("scheduled_publish_failed", extra={"error": describe_exception(exc)})
        else:
            if count:
                log.info("scheduled_articles_published", extra={"count": count})
        try:
            await asyncio.wait_for(stop.wait(), every)
        except TimeoutError:
            continue
