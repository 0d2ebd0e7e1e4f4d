"""Which errors mean "the database is away" (a 503 to retry) rather than a bug (a 500)."""

import sqlite3

import pytest
from sqlalchemy import create_engine, exc, text

from db.errors import is_unavailable


def test_a_locked_sqlite_file_is_unavailable_not_a_bug(tmp_path):
    """SQLite's writer lock held past the busy timeout: a real OperationalError."""
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.1})
    try:
        with pytest.raises(exc.OperationalError) as caught, engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
        assert is_unavailable(caught.value)
    finally:
        holder.close()
        engine.dispose()


def test_a_refused_connection_is_unavailable(tmp_path):
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:9/none")
    with pytest.raises(exc.OperationalError) as caught:
        engine.connect()
    assert is_unavailable(caught.value)
    wrapped = RuntimeError("while committing")
    wrapped.__cause__ = caught.value
    assert is_unavailable(wrapped)  # what a caller raised from it


@pytest.mark.parametrize(
    "error",
    [
        ValueError("a bug"),
        exc.IntegrityError("INSERT", {}, Exception("duplicate key")),
        exc.ProgrammingError("SELECT", {}, Exception("no such column")),
    ],
)
def test_a_bug_is_not_unavailability(error):
    assert not is_unavailable(error)


def test_a_missing_table_or_a_damaged_file_is_a_bug_not_an_outage(tmp_path):
    """Review finding: every OperationalError was a 503 to retry, so a schema mismatch looked
    like a passing blip."""
    engine = create_engine(f"sqlite:///{tmp_path / 'plain.db'}")
    try:
        with pytest.raises(exc.OperationalError) as caught, engine.connect() as conn:
            conn.execute(text("SELECT * FROM no_such_table"))
        assert not is_unavailable(caught.value)
    finally:
        engine.dispose()
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4096)
    engine = create_engine(f"sqlite:///{damaged}")
    try:
        with pytest.raises(exc.DatabaseError) as broken, engine.connect() as conn:
            conn.execute(text("SELECT * FROM sqlite_master"))
        assert not is_unavailable(broken.value)
    finally:
        engine.dispose()
