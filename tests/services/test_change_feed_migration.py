"""Migration 0011 enters what is public already, so a replay from scratch after an upgrade
sees the whole published set."""

from alembic import command
from sqlmodel import Session, col, select

from db.migrate import alembic_config, upgrade
from db.models import Article, ContentChange
from schemas.vocabulary import ArticleStatus


def test_upgrading_enters_the_published_content(seeded):
    config = alembic_config(seeded.url)
    command.downgrade(config, "0010")  # the demo content, as a database before the feed held it
    upgrade(seeded.url)
    engine = seeded.engine()
    with Session(engine) as s:
        entries = list(s.exec(select(ContentChange).order_by(col(ContentChange.id))))
        published = list(s.exec(select(Article).where(Article.status == ArticleStatus.PUBLISHED)))
    engine.dispose()
    articles = [e for e in entries if e.type == "article.published"]
    assert {(e.article_id, e.slug, e.locale, e.revision) for e in articles} == {
        (a.id, a.slug, a.locale, a.revision) for a in published
    }
    assert entries[-len(articles) :] == articles  # taxonomy and disclaimers come first
    kinds = {e.type for e in entries} - {"article.published"}
    assert kinds == {"therapy.changed", "condition.changed", "disclaimer.changed"}
    assert {e.slug for e in entries if e.type == "therapy.changed"} == {
        "iv-ketamine",
        "stellate-ganglion-block",
        "nad-plus",
    }
