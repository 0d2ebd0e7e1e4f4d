"""Telling a database that is away from a bug: an error of the first kind is a 503 the client
may retry (`Retry-After`), never a 500; anything else (a missing table, a damaged file, a
constraint) stays a 500, logged as the bug it is."""

import sqlite3

import psycopg
from sqlalchemy import exc

# SQLite: the file is locked past the busy timeout, or cannot be opened just now.
_SQLITE_AWAY = ("database is locked", "database table is locked", "unable to open database file")
# PostgreSQL SQLSTATE classes of an absent or departing server: connection exceptions (08),
# shutdowns and crash recovery (57P), too many connections and similar (53).
_POSTGRES_AWAY = ("08", "57P", "53")


def is_unavailable(error: BaseException) -> bool:
    """Whether `error` (or what caused it) says the database could not be reached or used
    just now: a refused or dropped connection, a server shutting down, SQLite's file locked
    past its busy timeout, the pool exhausted."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _away(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def _away(error: BaseException) -> bool:
    if isinstance(error, exc.TimeoutError):  # no connection free in the pool
        return True
    if isinstance(error, exc.DBAPIError):
        if error.connection_invalidated or isinstance(error, exc.InterfaceError):
            return True
        return _away(error.orig) if error.orig is not None else False
    if isinstance(error, sqlite3.OperationalError):
        return any(message in str(error) for message in _SQLITE_AWAY)
    if isinstance(error, psycopg.OperationalError):
        state = error.sqlstate
        return state is None or state.startswith(_POSTGRES_AWAY)  # None: no server answered
    return False
