"""Alembic environment: runs migrations online against the configured URL."""

from typing import Any

from alembic import context
from sqlalchemy import Connection, Engine, event
from sqlmodel import SQLModel

from db import editorial_models, lead_models, models, webhook_models  # noqa: F401  (register the tables)
from db.migrate import include_object
from db.session import make_engine

config = context.config
# An arbitrary 64-bit key naming "this project's migrations" among PostgreSQL advisory locks.
MIGRATION_LOCK = 0x636C696E6963  # "clinic"
target_metadata = SQLModel.metadata


def _sqlite_for_migrations(engine: Engine) -> None:
    """SQLite: one real transaction for the whole upgrade, and foreign keys off meanwhile.

    The sqlite3 module would run DDL outside any transaction (a failed migration would leave
    half its changes), and batch mode recreates tables: with foreign keys on, dropping the old
    table would cascade-delete the rows that refer to it. Integrity is checked at the end."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA foreign_keys=OFF")


def _check_foreign_keys(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"migration left rows without their parents: {broken[:5]}")


def run_migrations_online() -> None:
    """Run migrations in a transaction on one connection."""
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = make_engine(url)
    sqlite = engine.dialect.name == "sqlite"
    if sqlite:
        _sqlite_for_migrations(engine)
    # Begun as any unit of work (db/session.py): BEGIN IMMEDIATE on SQLite, so that a second
    # migrator waits for the first instead of failing when it writes after reading the old
    # revision; the driver begins nothing itself, so SQLite's DDL is transactional too.
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_object=include_object,
            render_as_batch=sqlite,
            # With our own BEGIN, SQLite's DDL is transactional: one commit for the whole
            # upgrade, after the integrity check.
            transactional_ddl=True,
        )
        with context.begin_transaction():
            if not sqlite:
                # Processes that migrate at once (replicas starting together) take turns: the
                # next one reads the revision after the first has committed, and has nothing
                # left to do. Released with the transaction.
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            context.run_migrations()
            if sqlite:
                _check_foreign_keys(connection)
    engine.dispose()


run_migrations_online()
