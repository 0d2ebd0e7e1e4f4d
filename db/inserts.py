"""INSERT … ON CONFLICT DO NOTHING on SQLite and PostgreSQL alike."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel


def insert_if_absent(session: Session, model: type[SQLModel], values: dict[str, Any]) -> bool:
    """Insert a row unless its key exists; True when this call inserted it.

    On PostgreSQL a concurrent insert of the same key waits for the other transaction and
    then reports the row as present, so no savepoint or retry is needed."""
    return bool(insert_many_if_absent(session, model, [values]))


def insert_many_if_absent(
    session: Session, model: type[SQLModel], rows: Sequence[dict[str, Any]]
) -> list[Any]:
    """`insert_if_absent` for many rows in one statement (the model's primary key is one
    column); returns the keys of the rows this call inserted."""
    if not rows:
        return []
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = model.__table__  # type: ignore[attr-defined]
    (key,) = table.primary_key.columns
    stmt = dialect.insert(table).on_conflict_do_nothing().returning(key)
    # Rows as parameters, not VALUES: one statement compiled once for any number of rows
    # (SQLAlchemy's "insertmanyvalues" still sends them together).
    return list(session.execute(stmt, list(rows)).scalars())
