"""Engine and session factory; SQLite gets WAL, foreign keys and a busy timeout.

SQLite's write model, in one place:
- Between processes (API workers, `cli worker`, the CLI): a unit of work starts with
  `BEGIN IMMEDIATE`, which takes SQLite's one write lock before the work reads anything, or
  waits for it in SQLite's busy handler up to `busy_timeout` (10 s). So a unit of work that
  reads, then writes what it read (the next revision, a status move) is never interleaved
  with another, and can never fail half-way for want of the lock (a deferred transaction that
  read first can: SQLITE_BUSY_SNAPSHOT). Every transaction begins so, but those of
  `for_reading` (read sessions, the readiness probe), which begin DEFERRED: no reader waits
  for a writer (WAL). The driver's own transaction handling is off (SQLAlchemy's documented
  recipe for pysqlite), so that SQLAlchemy's `begin` event says how each transaction begins.
- Within a server process: every writer (requests, the group commit, the dispatcher, the
  pruning) is async and queues on one lock (`_write_turn`) before it begins:
  waiting ties up no worker thread, and the lock goes to the next writer the moment it is
  free. Left to SQLite's busy handler alone, writers poll in sleeps of up to 100 ms: with 12
  lead clients and 8 admin clients at once, the leads' p99 was ~1.07 s against ~0.18-0.35 s
  queued here, and half as many were stored (bench note in issue 23).
- Synchronous callers (`unit_of_work`: the CLI, tests) run one writer per thread and meet
  every other writer in SQLite's busy handler.
PostgreSQL needs none of this: its units of work lock the rows they change."""

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import (
    AbstractAsyncContextManager,
    asynccontextmanager,
    contextmanager,
    nullcontext,
)
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
from sqlalchemy import Connection, Engine, event, text
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
_BUSY_TIMEOUT_SECONDS = 10.0
# The execution option that says how a SQLite transaction begins (ignored elsewhere).
_BEGIN_OPTION = "clinic_sqlite_begin"
_READS = {_BEGIN_OPTION: "DEFERRED"}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Per-connection SQLite settings: WAL for concurrent readers, enforced foreign keys."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(_BUSY_TIMEOUT_SECONDS * 1000)}")
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
            # isolation_level=None: the driver begins nothing itself (`_begin` does).
            connect_args={
                "check_same_thread": False,
                "timeout": _BUSY_TIMEOUT_SECONDS,
                "isolation_level": None,
            },
            pool_size=10,
            hide_parameters=True,  # errors must not quote a lead's fields into the logs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _begin)
        return engine
    return create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=10, hide_parameters=True
    )


def _begin(connection: Connection) -> None:
    """How a SQLite transaction begins: IMMEDIATE, but DEFERRED for reads (`for_reading`)."""
    mode = connection.get_execution_options().get(_BEGIN_OPTION, "IMMEDIATE")
    connection.exec_driver_sql(f"BEGIN {mode}")


def for_reading(engine: Engine) -> Engine:
    """`engine` for reads only: on SQLite its transactions begin DEFERRED, and never wait for
    a writer (WAL)."""
    return engine.execution_options(**_READS)


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
    and `run_unit_of_work`, the only places that commit. The CLI and tests use this one."""
    with _transaction(engine) as session:
        yield session


async def run_unit_of_work(engine: Engine, work: Callable[[Session], T]) -> T:
    """`work` in a unit of work of its own, done whole in one worker thread (open, work,
    commit or roll back, close): for a request whose work all blocks, one thread hop instead
    of one per step. Queued behind this process's other writers on SQLite."""
    async with _write_turn(engine):
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
    """The unit of work of one HTTP request, queued behind this process's other writers on
    SQLite; the blocking commit runs in a worker thread."""
    async with _write_turn(engine):
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


# The write queue of each SQLite engine, per event loop: an asyncio lock belongs to the loop
# it first waits on, and a harness may run an app's lifespan (its background writers) on
# another loop than its requests. A server runs one loop per process: one queue.
_Queues = dict[asyncio.AbstractEventLoop, asyncio.Lock]
_WRITE_QUEUES: "weakref.WeakKeyDictionary[Engine, _Queues]" = weakref.WeakKeyDictionary()


def _write_turn(engine: Engine) -> AbstractAsyncContextManager[Any]:
    """This writer's turn among the process's writers to `engine` (nothing to wait for on
    PostgreSQL)."""
    if engine.dialect.name != "sqlite":
        return nullcontext()
    queues = _WRITE_QUEUES.setdefault(engine, {})
    loop = asyncio.get_running_loop()
    for stale in [other for other in queues if other.is_closed()]:
        del queues[stale]
    return queues.setdefault(loop, asyncio.Lock())


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
    with Session(for_reading(engine), expire_on_commit=False) as session:
        yield session
