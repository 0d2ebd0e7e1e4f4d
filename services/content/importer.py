"""Apply a validated content bundle to the database in one transaction, idempotently."""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlmodel import Session, col, select

from core.errors import ContentError
from db.models import Article, ArticleRevision, Condition, Therapy, utcnow
from db.session import analyze_content
from schemas.vocabulary import ArticleStatus, ChangeType, RevisionSource
from services.content import changes, file_reviews, media, state, texts
from services.content.article_rows import announce, keep_revision, write_content
from services.content.files import (
    ArticleFile,
    ConditionFile,
    ContentBundle,
    HeroImageFile,
    TherapyFile,
)
from services.content.report import ImportReport
from services.content.revisions import Snapshot, content_hash
from services.content.rules import load_bundle

# How long the change feed keeps its entries unless the caller says (CLINIC_CHANGES_RETENTION_DAYS).
DEFAULT_RETENTION = timedelta(days=90)


def import_content(
    *,
    session: Session,
    content_dir: Path,
    strict: bool = False,
    production: bool = False,
    retention: timedelta = DEFAULT_RETENTION,
) -> ImportReport:
    """Validate the whole folder first, then apply it; a bad file changes nothing.

    `strict` adds the review rules: every published article approved, not overdue for review,
    and not published before its approval. `production` adds to them: no approval by a
    placeholder (demo) reviewer counts."""
    bundle = load_bundle(content_dir)
    return apply_bundle(
        session=session, bundle=bundle, retention=retention, strict=strict, production=production
    )


def apply_bundle(
    *,
    session: Session,
    bundle: ContentBundle,
    retention: timedelta = DEFAULT_RETENTION,
    strict: bool = False,
    production: bool = False,
) -> ImportReport:
    """Upsert taxonomies, version disclaimers, reviewers and approvals, and create, update or
    archive articles; every public change enters the change feed, and feed entries older than
    `retention` go. A problem found on the way (ContentError) leaves the caller's transaction
    to roll back."""
    report = ImportReport()
    changes.serialize(session=session)  # one import at a time: each reads what the last wrote
    stored = {name: media.store(session=session, source=s) for name, s in bundle.media.items()}
    therapy_ids = _upsert_terms(session, Therapy, bundle.therapies, report)
    condition_ids = _upsert_terms(session, Condition, bundle.conditions, report)
    _set_therapy_images(session, bundle.therapies, stored, report)
    texts.sync_disclaimers(session, bundle.disclaimers, report)
    shared_changed = bool(report.taxonomy_changes or report.disclaimer_versions)
    texts.sync_consent_texts(session, bundle.consent_texts, report)
    texts.sync_legal_documents(session, bundle.legal, report)
    problems = file_reviews.upsert_reviewers(session, bundle.reviewers, report)
    imported: dict[str, uuid.UUID] = {}
    terms = (therapy_ids, condition_ids)
    for relative, file in bundle.articles.items():
        hero = hero_image(file.hero_image, stored)
        imported[relative] = _upsert_article(session, relative, file, hero, terms, report)
    _archive_missing(session, set(imported.values()), report)
    problems += file_reviews.record_approvals(session, bundle.approvals, report)
    problems += file_reviews.apply_reviews(
        session,
        bundle,
        imported,
        strict=strict or production,
        production=production,
        today=utcnow().date(),
        report=report,
    )
    if problems:
        raise ContentError(problems)
    if shared_changed:
        changes.record_dependents(session=session, entered=report.entered)
    if report.entered:
        changes.record_term_pages(session=session)
    pruned = changes.prune(session=session, keep=retention)
    # Renditions go once unused for as long as the feed remembers changes (services.content.media).
    report.media_removed = media.collect(session=session, keep=retention)
    if report.changed or pruned:
        state.bump(session=session)
        analyze_content(session)
    return report


Term = TypeVar("Term", Therapy, Condition)


def _upsert_terms(
    session: Session,
    model: type[Term],
    files: Sequence[TherapyFile | ConditionFile],
    report: ImportReport,
) -> dict[str, int]:
    existing: dict[str, Term] = {row.slug: row for row in session.exec(select(model))}
    change = ChangeType.THERAPY_CHANGED if model is Therapy else ChangeType.CONDITION_CHANGED
    for f in files:
        values = f.model_dump()
        if isinstance(f, ConditionFile):
            values["keywords"] = f.stored_keywords()
        row = existing.get(f.slug)
        if row is None:
            row = model(**values)
            session.add(row)
            existing[f.slug] = row
        elif any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
        else:
            continue
        report.taxonomy_changes += 1
        changes.record(session=session, type=change, slug=f.slug)
    session.flush()
    return {slug: row.id for slug, row in existing.items() if row.id is not None}


def hero_image(
    declared: HeroImageFile | None, stored: dict[str, dict[str, Any]]
) -> dict[str, Any] | None:
    """What an article or therapy keeps of its hero image: its words and its renditions."""
    if declared is None:
        return None
    return {**declared.model_dump(), **stored[declared.file]}


def _set_therapy_images(
    session: Session,
    files: Sequence[TherapyFile],
    stored: dict[str, dict[str, Any]],
    report: ImportReport,
) -> None:
    rows = {row.slug: row for row in session.exec(select(Therapy))}
    for f in files:
        row, wanted = rows[f.slug], hero_image(f.hero_image, stored)
        if row.hero_image != wanted:
            row.hero_image = wanted
            report.taxonomy_changes += 1
            changes.record(session=session, type=ChangeType.THERAPY_CHANGED, slug=f.slug)
    session.flush()


def _upsert_article(
    session: Session,
    relative: str,
    file: ArticleFile,
    hero: dict[str, Any] | None,
    terms: tuple[dict[str, int], dict[str, int]],
    report: ImportReport,
) -> uuid.UUID:
    snapshot = Snapshot(file.content(), hero)
    digest = content_hash(snapshot.content, hero)
    article = session.exec(
        select(Article).where(Article.slug == file.slug, Article.locale == file.locale)
    ).first()
    if (
        article is not None
        and article.content_hash == digest
        and article.source_path == relative
        and article.status == file.status  # an archived one comes back with its file
        and (file.published_at is None or article.published_at == file.published_at)
        # what the hash cannot see: where the image is kept (migration 0017 keeps sources)
        and (article.hero_image or {}).get("media_id") == (hero or {}).get("media_id")
    ):
        report.unchanged += 1
        return article.id
    if article is not None and not article.source_path and _known(session, article, digest):
        # Written over HTTP since this file was imported: the database is ahead of the file.
        report.unchanged += 1
        return article.id
    now = utcnow()
    before = article.status if article is not None else None
    if article is None:
        article = Article(
            slug=file.slug,
            locale=file.locale,
            translation_group=file.translation_group,
            revision=1,
            latest_revision=1,
            created_at=now,
            title="",
            summary="",
            status=ArticleStatus.DRAFT,
            content_hash="",
            source_path="",
        )
        report.created.append(f"{file.slug} ({file.locale})")
    else:
        article.revision = article.latest_revision = (
            max(article.revision, article.latest_revision) + 1
        )
        report.updated.append(f"{file.slug} ({file.locale})")
    _apply_status(article, file, now)
    article.source_path = relative
    write_content(
        session, article, snapshot, digest=digest, now=now, terms=terms, new=before is None
    )
    keep_revision(
        session,
        article,
        snapshot,
        digest=digest,
        source=RevisionSource.IMPORT,
        author=None,
        now=now,
    )
    if announce(session=session, article=article, before=before):
        report.entered.add(article.id)
    return article.id


def _known(session: Session, article: Article, digest: str) -> bool:
    """Whether this content is one of the article's revisions already."""
    return (
        session.exec(
            select(ArticleRevision.id).where(
                ArticleRevision.article_id == article.id, ArticleRevision.content_hash == digest
            )
        ).first()
        is not None
    )


def _apply_status(article: Article, file: ArticleFile, now: datetime) -> None:
    article.status = file.status
    if file.status == ArticleStatus.PUBLISHED:
        article.published_at = file.published_at or article.published_at or now
    else:
        article.published_at = file.published_at


def _archive_missing(session: Session, seen: set[uuid.UUID], report: ImportReport) -> None:
    """An article whose file was removed is archived (kept, never public), not deleted; one
    written over HTTP has no file and is left alone."""
    archived = ArticleStatus.ARCHIVED
    for article in session.exec(select(Article).where(col(Article.status) != archived)):
        if article.id not in seen and article.source_path:  # not one written over HTTP
            before, article.status = article.status, archived
            article.revision = article.latest_revision = (
                max(article.revision, article.latest_revision) + 1
            )
            article.updated_at = utcnow()
            if announce(session=session, article=article, before=before):
                report.entered.add(article.id)
            report.archived.append(f"{article.slug} ({article.locale})")
