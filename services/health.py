"""Readiness: does the database answer, and is its schema at the migration the code expects."""

from dataclasses import dataclass

from sqlalchemy import Engine, text

from db.migrate import current_revision
from db.session import for_reading
from schemas.vocabulary import Readiness


@dataclass(frozen=True)
class ReadinessReport:
    """What the check found."""

    state: Readiness
    current: str | None = None
    expected: str | None = None


def check(*, engine: Engine, expected: str | None) -> ReadinessReport:
    """Ask the database; any failure to answer means not ready."""
    reader = for_reading(engine)  # the probe never waits for a writer
    try:
        with reader.connect() as connection:
            connection.execute(text("SELECT 1"))
        current = current_revision(reader)
    except Exception:  # the probe must answer, whatever the database does
        return ReadinessReport(Readiness.DATABASE_UNAVAILABLE, expected=expected)
    if current != expected:
        return ReadinessReport(Readiness.MIGRATIONS_PENDING, current, expected)
    return ReadinessReport(Readiness.READY, current, expected)
