"""Writing an article row: the content of one revision into the row and its sections, tags and
search document, and a change of what the public sees into the feed, the events and the content
version. The file import and the editorial workflow both write through here."""

import uuid
from collections.abc import Mapping
from datetime import datetime

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
)
from schemas.vocabulary import RevisionSource
from services.content import changes, search
from services.content.events import emit_article_change
from services.content.rendering import cited_ids, render_markdown
from services.content.revisions import Snapshot


def term_ids(session: Session) -> tuple[dict[str, int], dict[str, int]]:
    """Therapy and condition ids by slug."""
    therapies = {slug: id_ for id_, slug in session.exec(select(Therapy.id, Therapy.slug))}
    conditions = {slug: id_ for id_, slug in session.exec(select(Condition.id, Condition.slug))}
    return therapies, conditions  # type: ignore[return-value]


def write_content(
    session: Session,
    article: Article,
    snapshot: Snapshot,
    *,
    digest: str,
    now: datetime,
    terms: tuple[Mapping[str, int], Mapping[str, int]],
    new: bool,
) -> None:
    """The row holds `snapshot`'s content (rendered and sanitised) and its hero image; status,
    dates and review are the caller's."""
    c = snapshot.content
    article.title, article.summary = c.title, c.summary
    article.translation_group = c.translation_group
    article.call_to_action = c.call_to_action.model_dump() if c.call_to_action else None
    article.seo_meta_title = c.seo.meta_title
    article.seo_meta_description = c.seo.meta_description
    article.canonical_url = c.seo.canonical_url
    article.references = [r.model_dump(mode="json", exclude_none=True) for r in c.references]
    article.hero_image = snapshot.hero
    article.updated_at, article.content_hash = now, digest
    session.add(article)
    session.flush()
    _replace_children(session, article.id, snapshot, terms, new=new)


def _replace_children(
    session: Session,
    article_id: uuid.UUID,
    snapshot: Snapshot,
    terms: tuple[Mapping[str, int], Mapping[str, int]],
    *,
    new: bool,
) -> None:
    c = snapshot.content
    for model in (ArticleSection, ArticleTherapy, ArticleCondition):
        session.execute(delete(model).where(col(model.article_id) == article_id))
    bodies = []
    numbers = {ref.id: n for n, ref in enumerate(c.references, start=1)}
    for position, s in enumerate(c.sections):
        html, plain = render_markdown(s.markdown, numbers)
        bodies.append(f"{s.heading}\n{plain}")
        session.add(
            ArticleSection(
                article_id=article_id,
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
    therapy_ids, condition_ids = terms
    session.add_all(
        ArticleTherapy(article_id=article_id, therapy_id=therapy_ids[t])
        for t in dict.fromkeys(c.therapies)
    )
    session.add_all(
        ArticleCondition(article_id=article_id, condition_id=condition_ids[k])
        for k in dict.fromkeys(c.conditions)
    )
    search.index_article(
        session=session,
        article_id=article_id,
        title=c.title,
        summary=c.summary,
        body="\n".join(bodies),
        new=new,
    )
    session.flush()


def keep_revision(
    session: Session,
    article: Article,
    snapshot: Snapshot,
    *,
    digest: str,
    source: RevisionSource,
    author: uuid.UUID | None,
    now: datetime,
) -> None:
    """Store the article's newest revision (`latest_revision`), never changed afterwards."""
    session.add(
        ArticleRevision(
            article_id=article.id,
            revision=article.latest_revision,
            status=article.status,
            snapshot=snapshot.dump(),
            content_hash=digest,
            source=source,
            author_key_id=author,
            created_at=now,
        )
    )


def announce(*, session: Session, article: Article, before: str | None) -> bool:
    """A changed article's webhook event and change-feed entry, in its transaction; returns
    whether the change was public (the caller then enters the term pages and bumps the
    content version)."""
    emit_article_change(session=session, article=article, before=before)
    return changes.record_article(session=session, article=article, before=before)
