"""Full-text search over articles: FTS5 on SQLite, tsvector on PostgreSQL."""

import re
import uuid

from sqlalchemy import ColumnElement, TextClause, false, text
from sqlmodel import Session

_WORD = re.compile(r"\w+", re.UNICODE)


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def index_article(
    *, session: Session, article_id: uuid.UUID, title: str, summary: str, body: str, new: bool
) -> None:
    """Add (or, unless `new`, replace) an article's search document."""
    if not new:
        # FTS5 cannot index article_id, so this DELETE scans; new articles skip it.
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
                "INSERT INTO article_search (article_id, title, summary, body)"
                " VALUES (:id, :title, :summary, :body)"
            ),
            {"id": article_id.hex, "title": title, "summary": summary, "body": body},
        )


def remove_article(*, session: Session, article_id: uuid.UUID) -> None:
    """Drop an article's search document."""
    key = article_id if _is_postgres(session) else article_id.hex
    session.execute(text("DELETE FROM article_search WHERE article_id = :id"), {"id": key})


def fts5_query(q: str) -> str | None:
    """Turn free text into a safe FTS5 query: every word must match, no operators."""
    words = _WORD.findall(q)
    if not words:
        return None
    return " ".join('"' + w.replace('"', "") + '"' for w in words)


def article_matches(session: Session, q: str) -> ColumnElement[bool] | TextClause:
    """A WHERE condition on `article.id` that holds for articles matching the free text `q`."""
    if _is_postgres(session):
        words = _WORD.findall(q)  # the same "every word must match" as FTS5, and no NUL bytes
        if not words:
            return false()
        return text(
            "article.id IN (SELECT article_id FROM article_search"
            " WHERE document @@ plainto_tsquery('english', :q))"
        ).bindparams(q=" ".join(words))
    query = fts5_query(q)
    if query is None:
        return false()
    return text(
        "article.id IN (SELECT article_id FROM article_search WHERE article_search MATCH :q)"
    ).bindparams(q=query)
