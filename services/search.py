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
    and_,
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


def _postgres_hits(q: str) -> tuple[Select[Any], ColumnElement[Any], ColumnElement[Any]]:
    """Articles joined to their search documents, the condition that selects the hits of `q`,
    and the relevance to order by (best first when ascending)."""
    query = func.plainto_tsquery("english", " ".join(words_of(q)))
    joined = select(col(Article.id)).join(_FTS, _FTS.c.article_id == col(Article.id))
    return joined, _FTS.c.document.op("@@")(query), -func.ts_rank_cd(_FTS.c.document, query)


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
    if not words_of(q):
        return Hits([], 0, False)
    if _is_postgres(session):
        joined, match, relevance = _postgres_hits(q)
        matching = joined.where(match, *conditions)
        everywhere = select(func.count()).select_from(_FTS).where(match)
        order = NEWEST_FIRST if newest_first else (relevance, col(Article.slug))
        ids = list(session.execute(matching.order_by(*order).offset(offset).limit(limit)).scalars())
    else:
        match = _fts5_match(q)
        hits = _fts5_hits(match, ranked=False)
        matching = (
            select(col(Article.id))
            .select_from(hits)
            .join(_DOCS, _DOCS.c.rowid == hits.c.doc)
            .join(Article, col(Article.id) == _DOCS.c.article_id)
            .where(*conditions)
        )
        everywhere = select(func.count()).select_from(_FTS).where(match)
        if newest_first:
            ordered = matching.order_by(*NEWEST_FIRST).offset(offset).limit(limit)
            ids = list(session.execute(ordered).scalars())
        else:
            ids = _most_relevant(session, match, conditions, offset, limit)
    counted = session.exec(
        select(func.count()).select_from(matching.limit(exact_up_to + 1).subquery())
    ).one()
    if counted <= exact_up_to:
        return Hits(ids, int(counted), False)
    # Every match, whatever its status or locale: cheap (no article row is read) and never
    # below the filtered count, which is all an estimate past `exact_up_to` needs.
    return Hits(ids, max(int(session.exec(everywhere).one()), exact_up_to + 1), True)


def _fts5_match(q: str) -> ColumnElement[bool]:
    return text("article_search MATCH :q").bindparams(q=fts5_query(q))  # type: ignore[return-value]


def _fts5_hits(match: ColumnElement[bool], limit: int | None = None, ranked: bool = True) -> Any:
    """The FTS5 hits (rowid, and unless not `ranked` their rank, best first) as a subquery that
    SQLite reads before any article: it has a LIMIT (-1: none), which keeps the planner from
    folding it into the outer query and walking the articles first (asking FTS5 about each,
    ~140 us a row)."""
    rowid: ColumnElement[Any] = column("article_search.rowid", is_literal=True).label("doc")
    hits = select(rowid, _FTS.c.rank.label("rank")) if ranked else select(rowid)
    if ranked:
        hits = hits.order_by(_FTS.c.rank)
    return hits.select_from(_FTS).where(match).limit(limit or -1).subquery("hits")


# How many of the best FTS5 hits to rank a page from, per row the page needs (filters drop
# some): bm25 is computed for every hit either way, but only these are joined to articles.
_CANDIDATES_PER_ROW = 4
_MIN_CANDIDATES = 100


def _most_relevant(
    session: Session, match: ColumnElement[bool], conditions: Sequence[Any], offset: int, limit: int
) -> list[uuid.UUID]:
    """A page of the hits that meet `conditions`, most relevant first (ties by slug).

    The best candidates are joined to their articles first; the page stands when enough of
    them meet the conditions ahead of the last candidate's rank (a hit tied with it may lie
    beyond), else every hit is."""
    wanted = offset + limit
    candidates = max(_CANDIDATES_PER_ROW * wanted, _MIN_CANDIDATES)
    for cap in (candidates, None):
        hits = _fts5_hits(match, cap)
        rows = session.execute(
            select(hits.c.rank, col(Article.id), col(Article.slug))
            .select_from(hits)
            .outerjoin(_DOCS, _DOCS.c.rowid == hits.c.doc)
            .outerjoin(Article, and_(col(Article.id) == _DOCS.c.article_id, *conditions))
        ).all()
        kept = sorted((rank, slug, aid) for rank, aid, slug in rows if aid is not None)
        if cap is not None and len(rows) == cap:
            boundary = max(rank for rank, _, _ in rows)
            kept = [row for row in kept if row[0] < boundary]
            if len(kept) < wanted:
                continue
        return [aid for _, _, aid in kept[offset:wanted]]
    return []


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
            # By rowid, which FTS5 looks up directly: filtering on article_id instead made it
            # quote every hit of a common word before keeping a page of them (36 ms vs 6).
            "SELECT d.article_id, snippet(article_search, -1, :open, :close, '…', :n)"
            " FROM article_search_doc AS d JOIN article_search ON article_search.rowid = d.rowid"
            " WHERE article_search MATCH :q AND article_search.rowid IN"
            " (SELECT rowid FROM article_search_doc WHERE article_id IN :ids)"
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
