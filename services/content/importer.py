"""Apply a validated content bundle to the database in one transaction, idempotently."""

import uuid
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import delete
from sqlmodel import Session, col, select

from db.models import (
    Article,
    ArticleCondition,
    ArticleRevision,
    ArticleSection,
    ArticleTherapy,
    Condition,
    Therapy,
    utcnow,
)
from db.session import analyze_content
from schemas.vocabulary import ArticleStatus, ChangeType
from services.content import changes, media, search, state, texts
from services.content.events import emit_article_change
from services.content.files import (
    ArticleFile,
    ConditionFile,
    ContentBundle,
    HeroImageFile,
    TherapyFile,
)
from services.content.rendering import cited_ids, render_markdown
from services.content.report import ImportReport
from services.content.rules import load_bundle

# How long the change feed keeps its entries unless the caller says (CLINIC_CHANGES_RETENTION_DAYS).
DEFAULT_RETENTION = timedelta(days=90)


def import_content(
    *,
    session: Session,
    content_dir: Path,
    strict: bool = False,
    retention: timedelta = DEFAULT_RETENTION,
) -> ImportReport:
    """Validate the whole folder first, then apply it; a bad file changes nothing.

    `strict` adds the production rules (no placeholder reviewer, no overdue review)."""
    bundle = load_bundle(content_dir, strict=strict)
    return apply_bundle(session=session, bundle=bundle, retention=retention)


def apply_bundle(
    *, session: Session, bundle: ContentBundle, retention: timedelta = DEFAULT_RETENTION
) -> ImportReport:
    """Upsert taxonomies, version disclaimers, and create, update or archive articles; every
    public change enters the change feed, and feed entries older than `retention` go."""
    report = ImportReport()
    changes.serialize(session=session)  # one import at a time: each reads what the last wrote
    stored = {name: media.store(session=session, source=s) for name, s in bundle.media.items()}
    therapy_ids = _upsert_terms(session, Therapy, bundle.therapies, report)
    condition_ids = _upsert_terms(session, Condition, bundle.conditions, report)
    _set_therapy_images(session, bundle.therapies, stored, report)
    texts.sync_disclaimers(session, bundle.disclaimers, report)
    shared_changed = bool(report.taxonomy_changes or report.disclaimer_versions)
    texts.sync_consent_texts(session, bundle.consent_texts, report)
    seen: set[uuid.UUID] = set()
    for relative, file in bundle.articles.items():
        hero = hero_image(file.hero_image, stored)
        seen.add(_upsert_article(session, relative, file, hero, therapy_ids, condition_ids, report))
    _archive_missing(session, seen, report)
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
    therapy_ids: dict[str, int],
    condition_ids: dict[str, int],
    report: ImportReport,
) -> uuid.UUID:
    digest = file.content_hash(hero["sha256"] if hero else "")
    article = session.exec(
        select(Article).where(Article.slug == file.slug, Article.locale == file.locale)
    ).first()
    if (
        article is not None
        and article.content_hash == digest
        and article.source_path == relative
        and article.status != ArticleStatus.ARCHIVED  # a restored file brings it back
        # what the hash cannot see: columns a migration added after the file was imported
        and article.translation_group == file.translation_group
        and (article.hero_image or {}).get("sha256") == (hero or {}).get("sha256")
    ):
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
            created_at=now,
            title="",
            summary="",
            status=ArticleStatus.DRAFT,
            content_hash="",
            source_path="",
        )
        report.created.append(f"{file.slug} ({file.locale})")
    else:
        article.revision += 1
        report.updated.append(f"{file.slug} ({file.locale})")
    _apply_fields(article, file, relative, digest, now)
    article.translation_group, article.hero_image = file.translation_group, hero
    session.add(article)
    session.flush()
    _replace_children(session, article, file, therapy_ids, condition_ids, new=before is None)
    session.add(
        ArticleRevision(
            article_id=article.id,
            revision=article.revision,
            status=article.status,
            snapshot=file.model_dump(mode="json"),
            created_at=now,
        )
    )
    emit_article_change(session=session, article=article, before=before)
    if changes.record_article(session=session, article=article, before=before):
        report.entered.add(article.id)
    return article.id


def _apply_fields(
    article: Article, file: ArticleFile, relative: str, digest: str, now: Any
) -> None:
    review = file.medical_review
    article.title, article.summary, article.status = file.title, file.summary, file.status
    article.call_to_action = file.call_to_action.model_dump() if file.call_to_action else None
    article.reviewer = review.reviewer.model_dump(mode="json") if review else None
    article.reviewed_at = review.reviewed_at if review else None
    article.next_review_due = review.next_review_due if review else None
    article.seo_meta_title = file.seo.meta_title
    article.seo_meta_description = file.seo.meta_description
    article.canonical_url = file.seo.canonical_url
    article.references = [r.model_dump(mode="json", exclude_none=True) for r in file.references]
    if file.status == ArticleStatus.PUBLISHED:
        article.published_at = file.published_at or article.published_at or now
    else:
        article.published_at = file.published_at
    article.updated_at, article.content_hash, article.source_path = now, digest, relative


def _replace_children(
    session: Session,
    article: Article,
    file: ArticleFile,
    therapy_ids: dict[str, int],
    condition_ids: dict[str, int],
    *,
    new: bool,
) -> None:
    for model in (ArticleSection, ArticleTherapy, ArticleCondition):
        session.execute(delete(model).where(col(model.article_id) == article.id))
    bodies = []
    numbers = {ref.id: n for n, ref in enumerate(file.references, start=1)}
    for position, s in enumerate(file.sections):
        html, plain = render_markdown(s.markdown, numbers)
        bodies.append(f"{s.heading}\n{plain}")
        session.add(
            ArticleSection(
                article_id=article.id,
                position=position,
                key=s.key,
                heading=s.heading,
                kind=s.kind,
                markdown=s.markdown,
                html=html,
                text=plain,
                citations=cited_ids(s.markdown),
            )
        )
    session.add_all(
        ArticleTherapy(article_id=article.id, therapy_id=therapy_ids[t])
        for t in dict.fromkeys(file.therapies)
    )
    session.add_all(
        ArticleCondition(article_id=article.id, condition_id=condition_ids[c])
        for c in dict.fromkeys(file.conditions)
    )
    search.index_article(
        session=session,
        article_id=article.id,
        title=file.title,
        summary=file.summary,
        body="\n".join(bodies),
        new=new,
    )
    session.flush()


def _archive_missing(session: Session, seen: set[uuid.UUID], report: ImportReport) -> None:
    """An article whose file was removed is archived (kept, never public), not deleted."""
    archived = ArticleStatus.ARCHIVED
    for article in session.exec(select(Article).where(col(Article.status) != archived)):
        if article.id not in seen:
            before, article.status = article.status, archived
            article.revision += 1
            article.updated_at = utcnow()
            emit_article_change(session=session, article=article, before=before)
            if changes.record_article(session=session, article=article, before=before):
                report.entered.add(article.id)
            report.archived.append(f"{article.slug} ({article.locale})")
