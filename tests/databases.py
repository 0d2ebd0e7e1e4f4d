"""Test databases: migrate (and import the demo content) once per backend into a template,
then give every test a copy of its own.

- SQLite: the templates are files in a session folder; a test gets a copied file.
- PostgreSQL: the templates are databases beside the one TEST_DATABASE_URL names; a test gets
  a database created from one (`CREATE DATABASE ... TEMPLATE`), dropped (`WITH (FORCE)`) after
  the test. Creating and dropping a database costs PostgreSQL tenths of a second of disk work,
  so background threads create the next copies while tests run, and drop used ones.
"""

import os
import shutil
import socket
import sqlite3
import uuid
import zlib
from collections import defaultdict, deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Literal

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from db.migrate import upgrade
from db.session import make_engine, normalize_url
from tests.content_helpers import import_folder

Kind = Literal["empty", "migrated", "seeded"]


class Database:
    """One isolated database: a SQLite file, or a PostgreSQL database of its own."""

    def __init__(self, backend: str, url: str, name: str | None = None) -> None:
        self.backend = backend
        self.url = url
        self.name = name  # the PostgreSQL database's name

    def engine(self) -> Engine:
        """A new engine on this database (dispose it when done)."""
        return make_engine(self.url)


def seed(database_url: str, content_dir: Path) -> None:
    """Import the demo content into a migrated database."""
    engine = make_engine(database_url)
    try:
        import_folder(engine, content_dir)
    finally:
        engine.dispose()


class SqliteDatabases:
    """SQLite databases: a test's database is a copy of a template file."""

    backend = "sqlite"

    def __init__(self, folder: Path, content_dir: Path) -> None:
        self.folder = folder
        self.content_dir = content_dir
        self._templates: dict[str, Path] = {}

    def _template(self, kind: Kind) -> Path:
        if kind not in self._templates:
            path = self.folder / f"{kind}.db"
            if kind == "migrated":
                upgrade(f"sqlite:///{path}")
            else:
                shutil.copyfile(self._template("migrated"), path)
                seed(f"sqlite:///{path}", self.content_dir)
            _checkpoint(path)
            self._templates[kind] = path
        return self._templates[kind]

    def take(self, kind: Kind, folder: Path) -> Database:
        """A database in `folder`: no file yet (`empty`), or a copy of a template."""
        target = folder / "test.db"
        if kind != "empty":
            shutil.copyfile(self._template(kind), target)
        return Database("sqlite", f"sqlite:///{target}")

    def drop(self, db: Database) -> None:
        """Nothing to do: the file goes with the test's tmp_path."""

    def close(self) -> None:
        """Nothing to do: the templates go with the session's temporary folder."""


def _checkpoint(path: Path) -> None:
    """Fold the write-ahead log into the file, so that a copy of the file alone is complete.

    Every engine on the file must be disposed first (the last connection to close removes
    the log); this makes sure and checks."""
    connection = sqlite3.connect(path)
    try:
        busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        connection.close()
    wal = path.with_name(path.name + "-wal")
    assert busy == 0 and (not wal.exists() or wal.stat().st_size == 0), f"{path} still in use"


class PostgresDatabases:
    """PostgreSQL databases beside `url`'s: templates, and per-test copies of them.

    Names carry a hash of this host's name and this process's id, so a run never touches
    another live run's databases, and leftovers of a killed run on this host are dropped when
    the next run starts."""

    backend = "postgresql"
    PREFETCH = 3  # copies being made or ready, per kind of database in use
    # Each DROP DATABASE forces a checkpoint, so used databases are dropped in batches, all
    # at once: drops that wait together share one (24 drops: 9 s one by one, 0.4 s at once).
    DROP_BATCH = 16

    def __init__(self, url: str, content_dir: Path) -> None:
        self.base = make_url(normalize_url(url))
        self.content_dir = content_dir
        # CREATE/DROP DATABASE cannot run inside a transaction
        self.admin = create_engine(
            self.base, isolation_level="AUTOCOMMIT", pool_size=4, max_overflow=2 * self.DROP_BATCH
        )
        stem = (self.base.database or "test")[:20]
        host = zlib.crc32(socket.gethostname().encode()) & 0xFFFF
        self.run_prefix = f"{stem}_{host:04x}_"
        self.prefix = f"{self.run_prefix}{os.getpid()}_"
        self._templates: dict[str, str] = {}
        # PostgreSQL does the work (mostly writing and syncing files): the threads only wait.
        self._creator = ThreadPoolExecutor(max_workers=3, thread_name_prefix="test-db-create")
        self._dropper = ThreadPoolExecutor(
            max_workers=self.DROP_BATCH, thread_name_prefix="test-db-drop"
        )
        self._used: list[str] = []
        self._ready: dict[Kind, deque[Future[str]]] = defaultdict(deque)
        self._drops: list[Future[None]] = []
        self._drop_leftovers()

    def url(self, name: str) -> str:
        """The URL of database `name` (TEST_DATABASE_URL with another database)."""
        return self.base.set(database=name).render_as_string(hide_password=False)

    def _execute(self, sql: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(sql))

    def _create(self, purpose: str, template: str) -> str:
        name = f"{self.prefix}{purpose}_{uuid.uuid4().hex[:10]}"
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return name

    def _drop(self, name: str) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _drop_leftovers(self) -> None:
        """Drop databases of earlier runs on this host whose process is gone."""
        with self.admin.connect() as conn:
            names = list(
                conn.execute(
                    text("SELECT datname FROM pg_database WHERE starts_with(datname, :prefix)"),
                    {"prefix": self.run_prefix},
                ).scalars()
            )
        leftovers = [n for n in names if not _process_alive(n[len(self.run_prefix) :])]
        with ThreadPoolExecutor(max_workers=self.DROP_BATCH) as together:
            list(together.map(self._drop, leftovers))

    def _template(self, kind: Kind) -> str:
        if kind == "empty":
            return "template0"
        if kind not in self._templates:
            if kind == "migrated":
                name = self._create("tpl_migrated", "template0")
                upgrade(self.url(name))
            else:
                name = self._create("tpl_seeded", self._template("migrated"))
                seed(self.url(name), self.content_dir)
            # Copying needs a template nobody is connected to: refuse connections from now on.
            self._execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            self._execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            )
            self._templates[kind] = name
        return self._templates[kind]

    def take(self, kind: Kind, folder: Path) -> Database:
        """A new database of its own: empty (`empty`), or a copy of a template."""
        template = self._template(kind)
        ready = self._ready[kind]
        future = ready.popleft() if ready else self._creator.submit(self._create, "t", template)
        while len(ready) < self.PREFETCH:
            ready.append(self._creator.submit(self._create, "t", template))
        name = future.result()
        return Database("postgresql", self.url(name), name)

    def drop(self, db: Database) -> None:
        """Drop the test's database, closing any session left on it: later, in the
        background, together with the next used ones."""
        assert db.name is not None
        self._used.append(db.name)
        if len(self._used) >= self.DROP_BATCH:
            self._drop_used()

    def _drop_used(self) -> None:
        self._drops = [f for f in self._drops if not f.done() or f.exception()]
        self._drops += [self._dropper.submit(self._drop, name) for name in self._used]
        self._used.clear()

    def close(self) -> None:
        """Drop the used and unused copies and the templates; report a failed drop."""
        prefetched = [f for ready in self._ready.values() for f in ready if not f.cancel()]
        self._ready.clear()
        self._used += [f.result() for f in prefetched]  # copies being made finish first
        self._creator.shutdown(wait=True)
        self._used += self._templates.values()
        self._templates.clear()
        self._drop_used()
        self._dropper.shutdown(wait=True)
        self.admin.dispose()
        for future in self._drops:
            if (exc := future.exception()) is not None:
                raise exc


def _process_alive(rest: str) -> bool:
    """Whether the process whose id starts `rest` ("<pid>_...") still runs on this host."""
    pid = rest.split("_", 1)[0]
    if not pid.isdigit():
        return True  # not named by this module: leave it alone
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
