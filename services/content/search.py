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
    literal_column,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlmodel import Session, col, select

from db.models import Article, ArticleSection
from schemas.vocabulary import ArticleSort

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
_FTS_ROWID: ColumnElement[Any] = column("article_search.rowid", is_literal=True)
# Relevance on SQLite: bm25 over title, summary and body weighted 10:5:1, the weights the
# table's `rank` holds too (migration 0010); called directly it ranks ~20 % faster.
_BM25: ColumnElement[Any] = func.bm25(literal_column("article_search"), 10.0, 5.0, 1.0)


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


# The list's orders besides relevance, each with its tie-break (the slug).
ORDERS: dict[ArticleSort, tuple[Any, ...]] = {
    ArticleSort.NEWEST: (col(Article.published_at).desc(), col(Article.slug)),
    ArticleSort.OLDEST: (col(Article.published_at).asc(), col(Article.slug)),
    ArticleSort.TITLE: (func.lower(col(Article.title)), col(Article.slug)),
}


def find(
    *,
    session: Session,
    q: str,
    conditions: Sequence[Any],
    sort: ArticleSort,
    offset: int,
    limit: int,
    exact_up_to: int = EXACT_UP_TO,
) -> Hits:
    """The articles (`conditions` on Article) matching `q`: most relevant first, or in one of
    the list's other orders."""
    if not words_of(q):
        return Hits([], 0, False)
    if _is_postgres(session):
        joined, match, relevance = _postgres_hits(q)
        matching = joined.where(match, *conditions)
        counted = _count(session, matching, exact_up_to)
        order = ORDERS.get(sort) or (relevance, col(Article.slug))
        ids = _page(session, matching.order_by(*order), offset, limit)
    else:
        match = _fts5_match(q)
        # SQLite's planner, given the content tables' statistics (db.session.analyze_content),
        # reads the hits first for a broad filter and the articles first for a narrow one.
        matching = (
            select(col(Article.id))
            .select_from(_FTS)
            .join(_DOCS, _DOCS.c.rowid == _FTS_ROWID)
            .join(Article, col(Article.id) == _DOCS.c.article_id)
            .where(match, *conditions)
        )
        counted = _count(session, matching, exact_up_to)
        order = ORDERS.get(sort) or (_BM25, col(Article.slug))
        if sort in ORDERS or counted <= _candidates(offset + limit):
            ids = _page(session, matching.order_by(*order), offset, limit)
        else:  # many hits pass the filters: the best few hold the page
            ids = _most_relevant(session, match, conditions, matching, offset, limit)
    if counted <= exact_up_to:
        return Hits(ids, counted, False)
    # Every match, whatever its status or locale: cheap (no article row is read) and never
    # below the filtered count, which is all an estimate past `exact_up_to` needs.
    everywhere = session.exec(select(func.count()).select_from(_FTS).where(match)).one()
    return Hits(ids, max(int(everywhere), exact_up_to + 1), True)


def _page(session: Session, ordered: Select[Any], offset: int, limit: int) -> list[uuid.UUID]:
    return list(session.execute(ordered.offset(offset).limit(limit)).scalars())


def _count(session: Session, matching: Select[Any], up_to: int) -> int:
    """How many rows `matching` selects, counted up to one past `up_to`."""
    return int(
        session.exec(select(func.count()).select_from(matching.limit(up_to + 1).subquery())).one()
    )


def _fts5_match(q: str) -> ColumnElement[bool]:
    return text("article_search MATCH :q").bindparams(q=fts5_query(q))  # type: ignore[return-value]


def _best_hits(match: ColumnElement[bool], limit: int) -> Any:
    """The `limit` best FTS5 hits (rowid as `doc`, and `relevance`), as a subquery with a
    LIMIT, which SQLite reads (ranking every hit) before it joins a single article."""
    return (
        select(_FTS_ROWID.label("doc"), _BM25.label("relevance"))
        .select_from(_FTS)
        .where(match)
        .order_by(literal_column("relevance"))
        .limit(limit)
        .subquery("best")
    )


# How many of the best FTS5 hits to rank a page from, per row the page needs (filters drop
# some): bm25 is computed for every hit either way, but only these are joined to articles.
_CANDIDATES_PER_ROW = 4
_MIN_CANDIDATES = 100


def _candidates(rows: int) -> int:
    """How many of the best hits to rank a page of `rows` (from the top) from."""
    return max(_CANDIDATES_PER_ROW * rows, _MIN_CANDIDATES)


def _most_relevant(
    session: Session,
    match: ColumnElement[bool],
    conditions: Sequence[Any],
    matching: Select[Any],
    offset: int,
    limit: int,
) -> list[uuid.UUID]:
    """A page of `matching` (the hits that meet `conditions`), most relevant first (ties by
    slug).

    The best candidates are joined to their articles first (joining every hit of a common
    word to its article cost more than ranking them all): the page stands when enough of them
    meet the conditions ahead of the last candidate's rank (a hit tied with it may lie
    beyond). Otherwise (narrow filters) SQLite filters, orders and pages every hit itself."""
    wanted = offset + limit
    cap = _candidates(wanted)
    best = _best_hits(match, cap)
    rows = session.execute(
        select(best.c.relevance, col(Article.id), col(Article.slug))
        .select_from(best)
        .outerjoin(_DOCS, _DOCS.c.rowid == best.c.doc)
        .outerjoin(Article, and_(col(Article.id) == _DOCS.c.article_id, *conditions))
    ).all()
    kept = sorted((rank, slug, aid) for rank, aid, slug in rows if aid is not None)
    if len(rows) == cap:  # more hits beyond these
        boundary = max(rank for rank, _, _ in rows)
        kept = [row for row in kept if row[0] < boundary]
    if len(rows) < cap or len(kept) >= wanted:
        return [aid for _, _, aid in kept[offset:wanted]]
    return _page(session, matching.order_by(_BM25, col(Article.slug)), offset, limit)


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
