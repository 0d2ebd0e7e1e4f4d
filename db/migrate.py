"""Run Alembic migrations programmatically and report whether a database is at head."""

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, make_url, text

from db.session import normalize_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at our migrations and the given database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str) -> None:
    """Migrate the database to the newest revision."""
    command.upgrade(alembic_config(database_url), "head")


@cache
def head_revision() -> str | None:
    """The newest revision the code knows (read once: the migration files do not change while
    the process runs, and Alembic compiles every one of them to find it)."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def include_object(obj: object, name: str | None, type_: str, *_: object) -> bool:
    """What autogenerate and the drift check compare: not the hand-written full-text search
    tables (FTS5 on SQLite, tsvector on PostgreSQL)."""
    return not (type_ == "table" and name is not None and name.startswith("article_search"))


def create_database_if_missing(database_url: str) -> bool:
    """Create the PostgreSQL database the URL names when the server has none of that name
    (through its `postgres` database); True when it did. A SQLite file is made on first
    connection anyway."""
    url = make_url(normalize_url(database_url))
    if url.get_backend_name() != "postgresql" or not url.database:
        return False
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
            ).first()
            if exists:
                return False
            quoted = connection.dialect.identifier_preparer.quote_identifier(url.database)
            connection.execute(text(f"CREATE DATABASE {quoted}"))
            return True
    finally:
        server.dispose()
