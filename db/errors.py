"""Telling a database that is away from a bug: an error of the first kind is a 503 the client
may retry (`Retry-After`), never a 500."""

from sqlalchemy import exc

# Connection refused or lost, a server shutting down, SQLite's file locked past its busy
# timeout or unreadable, the pool exhausted: the database, not the request, is the problem.
_UNAVAILABLE = (exc.OperationalError, exc.InterfaceError, exc.TimeoutError)


def is_unavailable(error: BaseException) -> bool:
    """Whether `error` (or what caused it) says the database could not be reached or used."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _UNAVAILABLE):
            return True
        if isinstance(current, exc.DBAPIError) and current.connection_invalidated:
            return True
        current = current.__cause__ or current.__context__
    return False
