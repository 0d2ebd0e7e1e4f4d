"""Engine and session factory; SQLite gets WAL, foreign keys and a busy timeout."""

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session, create_engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Per-connection SQLite settings: WAL for concurrent readers, enforced foreign keys."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def normalize_url(database_url: str) -> str:
    """Map plain `postgresql://` URLs to the psycopg 3 driver that we ship."""
    for prefix in ("postgresql://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url.removeprefix(prefix)
    return database_url


def make_engine(database_url: str) -> Engine:
    """Create an engine for any SQLAlchemy URL; creates the SQLite file's folder if needed."""
    url = make_url(normalize_url(database_url))
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 10},
            pool_size=10,
            hide_parameters=True,  # errors must not quote a lead's fields into the logs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=10, hide_parameters=True
    )


_SQLITE_WRITE_LOCKS: "weakref.WeakKeyDictionary[Engine, threading.Lock]" = (
    weakref.WeakKeyDictionary()
)


@contextmanager
def write_lock(engine: Engine) -> Iterator[None]:
    """Serialize this process's write transactions on SQLite.

    SQLite allows one writer; threads that collide wait in its busy handler, which sleeps in
    growing steps and turns a burst of writes into seconds of latency. A lock queues them
    instead. PostgreSQL needs nothing."""
    if engine.dialect.name != "sqlite":
        yield
        return
    lock = _SQLITE_WRITE_LOCKS.setdefault(engine, threading.Lock())
    with lock:
        yield


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
