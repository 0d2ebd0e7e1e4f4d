"""The content version: bumped by every import that changes public content, read by every
process to know when its cached responses went stale."""

from sqlmodel import Session, select

from db.models import ContentState, utcnow

STATE_ID = 1
# How often each API process re-reads the content version, and so how long after a change
# commits a process may still answer public reads from its cache (api/response_cache.py).
VERSION_REFRESH_SECONDS = 0.5


def current_version(*, session: Session) -> int:
    """The version now (0 before the first import)."""
    version = session.exec(select(ContentState.version).where(ContentState.id == STATE_ID))
    return version.first() or 0


def bump(*, session: Session) -> int:
    """Move the version on, in the caller's transaction; returns the new version."""
    state = session.get(ContentState, STATE_ID) or ContentState(id=STATE_ID)
    state.version += 1
    state.changed_at = utcnow()
    session.add(state)
    return state.version
