"""API keys: created once and shown once; stored as a SHA-256 hash and a short prefix."""

import contextlib
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, or_, select

from core.errors import NotFoundError, ValidationFailedError
from db.editorial_models import Reviewer
from db.lead_models import ApiKey
from db.models import utcnow

SCOPES = ("content:review", "content:write", "leads:read", "leads:write", "webhooks:manage")
CONTENT_REVIEW = "content:review"
# The one scope that releases a lead's personal and health data, whatever route answers.
LEADS_READ = "leads:read"
TOKEN_PREFIX = "clk"  # noqa: S105  (a label, not a secret)
# Recording every use would turn each read into a write; once a minute is enough to audit.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    key_id: uuid.UUID
    name: str
    scopes: frozenset[str]
    # The clinician a `content:review` key acts for; None for every other key.
    reviewer_id: uuid.UUID | None = None

    @property
    def reads_leads(self) -> bool:
        """Whether this key may be answered with a lead's personal and health data."""
        return LEADS_READ in self.scopes


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_key(
    *,
    session: Session,
    name: str,
    scopes: list[str],
    expires_in: timedelta | None = None,
    reviewer_id: uuid.UUID | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the token, which is never stored or shown again.

    A `content:review` key acts for one reviewer of the registry, and only such a key may."""
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes or not name.strip():
        raise ValidationFailedError(
            [
                {
                    "field": "scopes",
                    "type": "unknown_scope",
                    "message": f"scopes must be a non-empty subset of {', '.join(SCOPES)}",
                }
            ]
        )
    _check_reviewer(session, scopes, reviewer_id)
    prefix = secrets.token_hex(4)
    token = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        name=name.strip(),
        prefix=prefix,
        key_hash=_hash(token),
        scopes=sorted(set(scopes)),
        expires_at=utcnow() + expires_in if expires_in else None,
        reviewer_id=reviewer_id,
    )
    session.add(key)
    session.flush()
    return key, token


def _check_reviewer(session: Session, scopes: list[str], reviewer_id: uuid.UUID | None) -> None:
    reviewing = CONTENT_REVIEW in scopes
    if reviewing and reviewer_id is None:
        message = f"a '{CONTENT_REVIEW}' key must be bound to a reviewer (--reviewer <id>)"
    elif not reviewing and reviewer_id is not None:
        message = f"only a '{CONTENT_REVIEW}' key is bound to a reviewer"
    elif reviewer_id is not None and session.get(Reviewer, reviewer_id) is None:
        message = f"no reviewer {reviewer_id} (see `cli list-reviewers`)"
    else:
        return
    raise ValidationFailedError([{"field": "reviewer", "type": "reviewer", "message": message}])


def authenticate(*, session: Session, token: str) -> Principal | None:
    """The principal behind a bearer token, or None. Compares hashes in constant time."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return None
    key = session.exec(select(ApiKey).where(ApiKey.prefix == parts[1])).first()
    if key is None or key.revoked_at is not None:
        return None
    now = utcnow()
    if key.expires_at is not None and key.expires_at <= now:
        return None
    if not hmac.compare_digest(key.key_hash, _hash(token)):
        return None
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        key.last_used_at = now
        session.add(key)
    return Principal(
        key_id=key.id, name=key.name, scopes=frozenset(key.scopes), reviewer_id=key.reviewer_id
    )


def list_keys(*, session: Session) -> list[ApiKey]:
    """Every key, newest first (hashes are never shown)."""
    return list(session.exec(select(ApiKey).order_by(col(ApiKey.created_at).desc())))


def revoke(*, session: Session, key_ref: str) -> ApiKey:
    """Revoke a key by its id or its prefix."""
    conditions = [ApiKey.prefix == key_ref]
    with contextlib.suppress(ValueError):
        conditions.append(ApiKey.id == uuid.UUID(key_ref))
    key = session.exec(select(ApiKey).where(or_(*conditions))).first()
    if key is None:
        raise NotFoundError(f"No API key '{key_ref}'.", code="api_key_not_found")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.add(key)
    return key
