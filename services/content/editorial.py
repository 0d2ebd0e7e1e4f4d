"""Articles written over HTTP: drafts and their revisions (each kept, never changed), restores
and diffs. An edit of a published article waits as the newest revision: the public keeps the
published one until a reviewer approves the edit and it is published (services.content.
publishing). Every check is the content folder's (services.content.rules)."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, or_, select

from core.errors import (
    ConflictError,
    NotFoundError,
    PreconditionFailedError,
    PreconditionRequiredError,
    ValidationFailedError,
)
from db.models import Article, ArticleRevision, utcnow
from schemas.editorial import ArticleContent, ArticleWrite
from schemas.vocabulary import ArticleStatus, AuditAction, RevisionSource
from services.access import audit
from services.access.api_keys import Principal
from services.content import changes, media_library, rules
from services.content.article_rows import keep_revision, term_ids, write_content
from services.content.revisions import Snapshot, content_hash
from services.content.stored_rules import stored_bundle


def etag(article: Article) -> str:
    """The version a writer must name in `If-Match`: the newest revision."""
    return f'"r{article.latest_revision}"'


def check_if_match(article: Article, if_match: str | None, *, required: bool) -> None:
    """Pass when `if_match` names the newest revision (or is `*`); 428 without it when
    `required`, 412 when it names another (strong comparison: a weak tag never matches)."""
    if if_match is None:
        if required:
            raise PreconditionRequiredError(
                f"Send If-Match: {etag(article)} (the ETag you read) to change this article.",
                code="if_match_required",
            )
        return
    tags = [t.strip() for t in if_match.split(",")]
    if "*" not in tags and etag(article) not in tags:
        raise PreconditionFailedError(
            f"The article changed since you read it: its ETag is now {etag(article)}.",
            code="etag_mismatch",
        )


def get(session: Session, article_id: uuid.UUID, *, for_update: bool = False) -> Article:
    """An article in any state, or NotFoundError. `for_update`: every editorial write takes
    the content lock first (as an import does), so that writes to content happen one after
    the other and each reads what the last wrote (PostgreSQL; SQLite has one writer)."""
    if for_update:
        changes.serialize(session=session)
    article = session.get(Article, article_id, populate_existing=for_update)
    if article is None:
        raise NotFoundError(f"No article {article_id}.", code="article_not_found")
    return article


def revision_row(session: Session, article: Article, revision: int) -> ArticleRevision:
    """One stored revision of `article`, or NotFoundError."""
    row = session.exec(
        select(ArticleRevision).where(
            ArticleRevision.article_id == article.id, ArticleRevision.revision == revision
        )
    ).first()
    if row is None:
        raise NotFoundError(
            f"Article {article.id} has no revision {revision}.", code="revision_not_found"
        )
    return row


def newest_revision(session: Session, article: Article) -> ArticleRevision:
    """The newest stored revision (an import's archiving counts a revision but stores none)."""
    row = session.exec(
        select(ArticleRevision)
        .where(ArticleRevision.article_id == article.id)
        .order_by(col(ArticleRevision.revision).desc())
        .limit(1)
    ).first()
    assert row is not None, "every article has its first revision"
    return row


def revisions(session: Session, article: Article) -> list[ArticleRevision]:
    """Every stored revision, newest first."""
    return list(
        session.exec(
            select(ArticleRevision)
            .where(ArticleRevision.article_id == article.id)
            .order_by(col(ArticleRevision.revision).desc())
        )
    )


def draft_problems(
    session: Session, content: ArticleContent, article: Article | None
) -> list[dict[str, str]]:
    """What the import would refuse in this content as a draft, as 422 field errors named in
    the request body once the API names them (`sections.2` answers as `body.sections.2`)."""
    keys = [s.key for s in content.sections]
    found = [
        f"sections.{k}: duplicate section key"
        for k in sorted({k for k in keys if keys.count(k) > 1})
    ]
    found += rules.article_problems(stored_bundle(session), content)
    found += _translation_problems(session, content, article)
    return [_field_error(problem, keys) for problem in found]


def _field_error(problem: str, section_keys: list[str]) -> dict[str, str]:
    where, _, message = problem.partition(": ")
    head, _, rest = where.partition(".")
    if head == "sections" and rest in section_keys:  # the body names sections by position
        where = f"sections.{section_keys.index(rest)}"
    return {"field": where, "type": "content_rule", "message": message}


def _translation_problems(
    session: Session, content: ArticleContent, article: Article | None
) -> Iterator[str]:
    """The folder's translation rules, against the stored articles."""
    target = content.translation_of
    if target is not None:
        original = session.exec(
            select(Article).where(Article.slug == target, Article.translation_group == target)
        ).first()
        if original is None:
            yield (
                f"translation_of: no original article has the slug '{target}' "
                "(name the article that is not itself a translation)"
            )
            return
        if original.locale == content.locale:
            yield f"translation_of: '{target}' is in the same locale"
    other = session.exec(
        select(Article).where(
            Article.translation_group == content.translation_group,
            Article.locale == content.locale,
            *([col(Article.id) != article.id] if article is not None else []),
        )
    ).first()
    if other is not None:
        yield (
            f"translation_of: '{other.slug}' is already the '{content.locale}' "
            f"translation of '{content.translation_group}'"
        )


def _refuse_problems(session: Session, content: ArticleContent, article: Article | None) -> None:
    problems = draft_problems(session, content, article)
    if problems:
        raise ValidationFailedError(problems, code="content_invalid")


def create(*, session: Session, content: ArticleWrite, actor: Principal) -> Article:
    """A new draft whose revision 1 is `content`."""
    changes.serialize(session=session)  # one content write at a time: the slug check holds
    taken = session.exec(
        select(Article.id).where(Article.slug == content.slug, Article.locale == content.locale)
    ).first()
    if taken is not None:
        raise ConflictError(
            f"An article '{content.slug}' ({content.locale}) exists: {taken}.",
            code="article_exists",
        )
    _refuse_problems(session, content, None)
    now = utcnow()
    article = Article(
        slug=content.slug,
        locale=content.locale,
        translation_group=content.translation_group,
        title=content.title,
        summary=content.summary,
        status=ArticleStatus.DRAFT,
        revision=1,
        latest_revision=1,
        content_hash="",
        source_path="",
        created_at=now,
    )
    hero = _hero(session, content)
    snapshot = Snapshot(_words(content), hero)
    digest = content_hash(snapshot.content, hero)
    write_content(
        session, article, snapshot, digest=digest, now=now, terms=term_ids(session), new=True
    )
    _add_revision(session, article, snapshot, digest, actor, now)
    return article


def update(
    *,
    session: Session,
    article_id: uuid.UUID,
    content: ArticleWrite,
    if_match: str | None,
    actor: Principal,
    required: bool = True,
) -> tuple[Article, bool]:
    """The next revision of an article, unless `content` is its newest revision's already;
    returns the article and whether a revision was made. Slug and locale are its identity."""
    article = get(session, article_id, for_update=True)
    check_if_match(article, if_match, required=required)
    moved = [
        {"field": name, "type": "immutable", "message": message}
        for name, message in (
            ("slug", f"the slug is '{article.slug}'; a new slug is a new article"),
            ("locale", f"the locale is '{article.locale}'; a translation is a new article"),
        )
        if getattr(content, name) != getattr(article, name)
    ]
    if moved:
        raise ValidationFailedError(moved, code="content_invalid")
    _refuse_problems(session, content, article)
    newest = newest_revision(session, article)
    kept = Snapshot.load(newest.snapshot).hero
    same_image = kept is not None and str(content.hero_media_id) == kept.get("media_id")
    hero = kept if same_image else _hero(session, content)  # the words it was approved with
    snapshot = Snapshot(_words(content), hero)
    digest = content_hash(snapshot.content, hero)
    if digest == newest.content_hash:
        return article, False
    _write_revision(session, article, snapshot, digest, actor)
    return article, True


def _words(content: ArticleContent) -> ArticleContent:
    """The content without the hero image's id (a revision keeps the image itself)."""
    return ArticleContent.model_validate(
        content.model_dump(include=set(ArticleContent.model_fields))
    )


def _hero(session: Session, content: ArticleWrite) -> dict[str, Any] | None:
    media_id = content.hero_media_id
    if media_id is None:
        return None
    try:
        return media_library.hero_for(session, media_id)
    except NotFoundError:
        raise ValidationFailedError(
            [
                {
                    "field": "hero_media_id",
                    "type": "media_not_found",
                    "message": f"no media {media_id}",
                }
            ],
            code="content_invalid",
        ) from None


def restore(
    *,
    session: Session,
    article_id: uuid.UUID,
    revision: int,
    if_match: str | None,
    actor: Principal,
) -> tuple[Article, bool]:
    """A new revision equal to revision `revision` (none when the newest already is)."""
    article = get(session, article_id, for_update=True)
    check_if_match(article, if_match, required=False)
    old = Snapshot.load(revision_row(session, article, revision).snapshot)
    digest = content_hash(old.content, old.hero)
    if digest == newest_revision(session, article).content_hash:
        return article, False
    _write_revision(session, article, old, digest, actor)
    return article, True


def _write_revision(
    session: Session, article: Article, snapshot: Snapshot, digest: str, actor: Principal
) -> None:
    now = utcnow()
    article.source_path = ""  # the database is ahead of any file now
    article.latest_revision = max(article.revision, article.latest_revision) + 1
    if article.status != ArticleStatus.PUBLISHED:  # a published article keeps what is public
        article.revision = article.latest_revision
        write_content(
            session, article, snapshot, digest=digest, now=now, terms=term_ids(session), new=False
        )
    else:
        article.updated_at = now
        session.add(article)
    _add_revision(session, article, snapshot, digest, actor, now)


def _add_revision(
    session: Session,
    article: Article,
    snapshot: Snapshot,
    digest: str,
    actor: Principal,
    now: datetime,
) -> None:
    keep_revision(
        session,
        article,
        snapshot,
        digest=digest,
        source=RevisionSource.HTTP,
        author=actor.key_id,
        now=now,
    )
    audit.record(
        session=session,
        actor=actor.key_id,
        action=AuditAction.ARTICLE_REVISION_CREATE,
        detail={
            "article_id": str(article.id),
            "revision": article.latest_revision,
            "content_hash": digest,
        },
    )
    session.flush()


@dataclass(frozen=True)
class ArticleFilter:
    """The editorial list's filters."""

    status: ArticleStatus | None = None
    locale: str | None = None
    q: str | None = None


def page(
    *, session: Session, where: ArticleFilter, page: int, page_size: int
) -> tuple[list[Article], int]:
    """A page of articles in any state, newest change first, and how many match."""
    conditions = []
    if where.status is not None:
        conditions.append(col(Article.status) == where.status)
    if where.locale is not None:
        conditions.append(col(Article.locale) == where.locale)
    if where.q:
        pattern = "%" + where.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(
            or_(
                col(Article.title).ilike(pattern, escape="\\"),
                col(Article.slug).ilike(pattern, escape="\\"),
            )
        )
    total = session.exec(select(func.count()).select_from(Article).where(*conditions)).one()
    rows = session.exec(
        select(Article)
        .where(*conditions)
        .order_by(col(Article.updated_at).desc(), col(Article.id))
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return list(rows), int(total)
