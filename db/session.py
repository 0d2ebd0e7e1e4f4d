"""Engine and session factory; SQLite gets WAL, foreign keys and a busy timeout."""

import asyncio
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, create_engine

from db.models import (
    Article,
    ArticleCondition,
    ArticleSection,
    ArticleTherapy,
    Condition,
    Disclaimer,
    Therapy,
)

T = TypeVar("T")


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


_THREAD_LOCKS: "weakref.WeakKeyDictionary[Engine, threading.Lock]" = weakref.WeakKeyDictionary()
# Per engine and event loop: an asyncio lock belongs to the loop it was first used on, and a
# harness may run an app's lifespan (which starts its background writers) on another loop
# than its requests. A server runs one loop per process: one lock.
_ASYNC_LOCKS: (
    "weakref.WeakKeyDictionary[Engine, weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, "
    "asyncio.Lock]]"
) = weakref.WeakKeyDictionary()

# SQLite allows one writer; threads that collide wait in its busy handler, which sleeps in
# growing steps and turns a burst of writes into seconds of latency. A lock per process queues
# them instead. Requests queue on an asyncio lock, so that waiting ties up no worker thread;
# the CLI, the dispatcher's threads and tests queue on a thread lock. PostgreSQL needs neither.


@contextmanager
def _transaction(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        session.commit()


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error: with `request_unit_of_work`
    and `run_unit_of_work`, the only places that commit. The CLI, the dispatcher and tests use
    this one."""
    lock = _THREAD_LOCKS.setdefault(engine, threading.Lock()) if _is_sqlite(engine) else None
    with lock or nullcontext(), _transaction(engine) as session:
        yield session


async def run_unit_of_work(engine: Engine, work: Callable[[Session], T]) -> T:
    """`work` in a unit of work of its own, done whole in one worker thread (open, work,
    commit or roll back, close): for a request whose work all blocks, one thread hop instead
    of one per step. Requests queue for SQLite's writer as `request_unit_of_work`'s do."""
    lock = _async_lock(engine)
    async with lock or nullcontext():
        # anyio's worker threads: the pool sync routes run in, so capacity is as before.
        return await anyio.to_thread.run_sync(_work_in_transaction, engine, work)


async def run_read_only(engine: Engine, work: Callable[[Session], T]) -> T:
    """`work` in a read-only session of its own, done whole in one worker thread: no lock, no
    transaction kept, nothing committed (the lead intake's admission)."""
    return await anyio.to_thread.run_sync(_work_in_read_session, engine, work)


def _work_in_read_session(engine: Engine, work: Callable[[Session], T]) -> T:
    with read_session(engine) as session:
        return work(session)


def _work_in_transaction(engine: Engine, work: Callable[[Session], T]) -> T:
    with _transaction(engine) as session:
        return work(session)


@asynccontextmanager
async def request_unit_of_work(engine: Engine) -> AsyncIterator[Session]:
    """The unit of work of one HTTP request; the blocking commit runs in a worker thread."""
    lock = _async_lock(engine)
    async with lock or nullcontext():
        session = Session(engine, expire_on_commit=False)
        try:
            yield session
        except BaseException:
            await asyncio.to_thread(session.rollback)
            raise
        else:
            await asyncio.to_thread(session.commit)
        finally:
            await asyncio.to_thread(session.close)


def _async_lock(engine: Engine) -> asyncio.Lock | None:
    """The SQLite writer lock of this process's running loop (None for PostgreSQL)."""
    if not _is_sqlite(engine):
        return None
    by_loop = _ASYNC_LOCKS.setdefault(engine, weakref.WeakKeyDictionary())
    return by_loop.setdefault(asyncio.get_running_loop(), asyncio.Lock())


def _is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


# The tables only a content import writes, and the search documents (migration 0010).
_CONTENT_TABLES = (
    *(
        str(model.__tablename__)
        for model in (
            Article,
            ArticleSection,
            ArticleTherapy,
            ArticleCondition,
            Therapy,
            Condition,
            Disclaimer,
        )
    ),
    "article_search_doc",
)


def analyze_content(session: Session) -> None:
    """Give SQLite's query planner the content tables' statistics, in the caller's transaction.

    Without them it guesses, and for a search it guessed wrong: it walked every published
    article and asked FTS5 about each (141 ms to count the hits of a common word among 10,000
    articles, against 6 ms the other way round). The statistics of the lead and delivery
    tables are not taken: taken while those were small, they would mislead the planner as they
    grow. PostgreSQL's autovacuum keeps its own statistics."""
    if session.get_bind().dialect.name != "sqlite":
        return
    for table in _CONTENT_TABLES:
        session.execute(text(f'ANALYZE "{table}"'))


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session for reads only (cached builds, streamed exports): it never commits."""
    with Session(engine, expire_on_commit=False) as session:
        yield session
