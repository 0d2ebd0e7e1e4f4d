"""Full-text search over articles: FTS5 on SQLite, tsvector on PostgreSQL.

Hits are ranked by relevance (FTS5 bm25 over title, summary and body weighted 10:5:1;
PostgreSQL `ts_rank_cd` over the A/B/C-weighted document), counted exactly up to EXACT_UP_TO
and estimated beyond, and each hit on a page gets a short highlighted snippet."""

import html
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    bindparam,
    column,
    func,
    literal,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlmodel import Session, col, select

from db.models import Article, ArticleSection

_WORD = re.compile(r"\w+", re.UNICODE)


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def index_article(
    *, session: Session, article_id: uuid.UUID, title: str, summary: str, body: str, new: bool
) -> None:
    """Add (or, unless `new`, replace) an article's search document."""
    if not new:
        remove_article(session=session, article_id=article_id)
    if _is_postgres(session):
        session.execute(
            text(
                "INSERT INTO article_search (article_id, document) VALUES (:id,"
                " setweight(to_tsvector('english', :title), 'A') ||"
                " setweight(to_tsvector('english', :summary), 'B') ||"
                " setweight(to_tsvector('english', :body), 'C'))"
            ),
            {"id": article_id, "title": title, "summary": summary, "body": body},
        )
    else:
        session.execute(
            text(
                # Triggers (migration 0010) index the text in article_search.
                "INSERT INTO article_search_doc (article_id, title, summary, body)"
                " VALUES (:id, :title, :summary, :body)"
            ),
            {"id": article_id.hex, "title": title, "summary": summary, "body": body},
        )


def remove_article(*, session: Session, article_id: uuid.UUID) -> None:
    """Drop an article's search document."""
    if _is_postgres(session):
        session.execute(
            text("DELETE FROM article_search WHERE article_id = :id"), {"id": article_id}
        )
    else:
        session.execute(
            text("DELETE FROM article_search_doc WHERE article_id = :id"), {"id": article_id.hex}
        )


# Counting every hit of a common word costs as much as ranking them all; beyond this many the
# total is an estimate (`total_is_estimate`).
EXACT_UP_TO = 1000
# Snippet highlights: control characters never occur in content (the import refuses them), so
# they mark the matched words until the text is escaped, then become <mark> elements.
_OPEN, _CLOSE = "\x02", "\x03"
_SNIPPET_WORDS = 24
_FTS = table("article_search", column("article_id"), column("rank"), column("document"))
# SQLite: FTS5 hits are rowids of these documents (migration 0010).
_DOCS = table("article_search_doc", column("rowid"), column("article_id"))


@dataclass(frozen=True)
class Hits:
    """One page of matching article ids, best first, and how many match in all."""

    ids: list[uuid.UUID]
    total: int
    total_is_estimate: bool


def words_of(q: str) -> list[str]:
    """The words of free text, the only part of it any query sees (no operators, no NUL)."""
    return _WORD.findall(q)


def _hits(session: Session, q: str) -> tuple[Select[Any], Any, ColumnElement[Any]] | None:
    """Articles joined to their hits for `q` (None: `q` has no words), the condition that
    selects the hits, and the relevance to order by (best first when ascending)."""
    words = words_of(q)
    if not words:
        return None
    if _is_postgres(session):
        query = func.plainto_tsquery("english", " ".join(words))
        joined = select(col(Article.id)).join(_FTS, _FTS.c.article_id == col(Article.id))
        return joined, _FTS.c.document.op("@@")(query), -func.ts_rank_cd(_FTS.c.document, query)
    joined = (
        select(col(Article.id))
        .select_from(_FTS)
        .join(_DOCS, _DOCS.c.rowid == column("article_search.rowid", is_literal=True))
        .join(Article, col(Article.id) == _DOCS.c.article_id)
    )
    return joined, text("article_search MATCH :q").bindparams(q=fts5_query(q)), _FTS.c.rank


# The list's order without relevance (and its tie-break): newest first, then by slug.
NEWEST_FIRST = (col(Article.published_at).desc(), col(Article.slug))


def find(
    *,
    session: Session,
    q: str,
    conditions: Sequence[Any],
    newest_first: bool,
    offset: int,
    limit: int,
    exact_up_to: int = EXACT_UP_TO,
) -> Hits:
    """The articles (`conditions` on Article) matching `q`: most relevant first, or newest."""
    found = _hits(session, q)
    if found is None:
        return Hits([], 0, False)
    joined, match, relevance = found
    matching = joined.where(match, *conditions)
    ids = list(
        session.execute(
            matching.order_by(*(NEWEST_FIRST if newest_first else (relevance, col(Article.slug))))
            .offset(offset)
            .limit(limit)
        ).scalars()
    )
    counted = session.exec(
        select(func.count()).select_from(matching.limit(exact_up_to + 1).subquery())
    ).one()
    if counted <= exact_up_to:
        return Hits(ids, int(counted), False)
    # Every match, whatever its status or locale: cheap (no article row is read) and never
    # below the filtered count, which is all an estimate past `exact_up_to` needs.
    everywhere = session.exec(select(func.count()).select_from(_FTS).where(match)).one()
    return Hits(ids, max(int(everywhere), exact_up_to + 1), True)


def snippets(*, session: Session, q: str, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """A short extract of each article around the words of `q`: HTML-escaped text in which
    only the matched words are wrapped in `<mark>`."""
    words = words_of(q)
    if not ids or not words:
        return {}
    if _is_postgres(session):
        return _headlines(session, " ".join(words), ids)
    rows = session.execute(
        text(
            "SELECT d.article_id, snippet(article_search, -1, :open, :close, '…', :n)"
            " FROM article_search JOIN article_search_doc AS d ON d.rowid = article_search.rowid"
            " WHERE article_search MATCH :q AND d.article_id IN :ids"
        ).bindparams(
            bindparam("ids", [i.hex for i in ids], expanding=True),
            q=fts5_query(q),
            open=_OPEN,
            close=_CLOSE,
            n=_SNIPPET_WORDS,
        )
    )
    return {uuid.UUID(aid): _marked(extract) for aid, extract in rows}


def _headlines(session: Session, words: str, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """ts_headline over the title, summary and sections in order (PostgreSQL's tsvector keeps
    no text to quote): what SQLite's snippet() picks from, and the same bytes every time."""
    sections = (
        select(
            col(ArticleSection.article_id).label("article_id"),
            func.string_agg(
                col(ArticleSection.text),
                aggregate_order_by(literal("\n"), col(ArticleSection.position)),
            ).label("body"),
        )
        .where(col(ArticleSection.article_id).in_(ids))
        .group_by(col(ArticleSection.article_id))
        .subquery()
    )
    document = func.concat_ws(
        "\n", col(Article.title), col(Article.summary), func.coalesce(sections.c.body, "")
    )
    options = (
        f"StartSel={_OPEN}, StopSel={_CLOSE}, MaxWords={_SNIPPET_WORDS}, MinWords=12,"
        ' MaxFragments=2, FragmentDelimiter=" … "'
    )
    rows = session.execute(
        select(
            col(Article.id),
            func.ts_headline("english", document, func.plainto_tsquery("english", words), options),
        )
        .outerjoin(sections, sections.c.article_id == col(Article.id))
        .where(col(Article.id).in_(ids))
    )
    return {aid: _marked(extract) for aid, extract in rows}


def _marked(extract: str) -> str:
    """Escaped text with <mark> around the highlighted words (and nothing else as markup)."""
    return (
        html.escape(" ".join(extract.split()), quote=False)
        .replace(_OPEN, "<mark>")
        .replace(_CLOSE, "</mark>")
    )


def fts5_query(q: str) -> str | None:
    """Turn free text into a safe FTS5 query: every word must match, no operators."""
    words = words_of(q)
    if not words:
        return None
    return " ".join('"' + w.replace('"', "") + '"' for w in words)
