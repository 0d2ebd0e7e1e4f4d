"""Alembic environment: runs migrations online against the configured URL."""

from alembic import context
from sqlmodel import SQLModel

from db import lead_models, models, webhook_models  # noqa: F401  (register the tables)
from db.session import make_engine

config = context.config
target_metadata = SQLModel.metadata


def include_object(obj: object, name: str | None, type_: str, *_: object) -> bool:
    """Autogenerate must leave the hand-written full-text search tables alone."""
    return not (type_ == "table" and name is not None and name.startswith("article_search"))


def run_migrations_online() -> None:
    """Run migrations in a transaction on one connection."""
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_object=include_object,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
