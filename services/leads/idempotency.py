"""Idempotency-Key handling (IETF draft): the first request with a key creates the lead, a
repeat with the same body replays it, a repeat with another body is refused.

The key is claimed in the lead's own transaction, and a unique key in the database makes the
claim hold across processes: a concurrent request with the same key waits for the first to
commit (or roll back) and then replays it (or runs itself)."""

import hashlib
import hmac
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from core.crypto import KeyRing
from core.errors import ValidationFailedError
from db.inserts import insert_if_absent, insert_many_if_absent
from db.lead_models import IdempotencyRecord

FIELD = "idempotency_key"


class IdempotencyKeyReusedError(ValidationFailedError):
    """The key was already used with a different request body."""

    def __init__(self) -> None:
        super().__init__(
            [
                {
                    "field": FIELD,
                    "type": "idempotency_key_reused",
                    "message": "This key was already used with a different request body.",
                }
            ],
            code="idempotency_key_reused",
        )


FINGERPRINT_KEY = "idempotency-fingerprint"  # the master key's subkey for fingerprints


@dataclass(frozen=True)
class Fingerprint:
    """A request body's keyed digest: HMAC-SHA256 under a subkey of the master key, so that
    the database alone cannot tell whose body it was (an unkeyed hash can be matched against
    guessed names and emails). `value` is the current key's, what a new record stores;
    `accepted` holds every configured key's, so that records written before a rotation still
    match."""

    value: str
    accepted: frozenset[str]

    def matches(self, stored: str) -> bool:
        """Whether a stored fingerprint is this body's."""
        return stored in self.accepted


def fingerprint(*, ring: KeyRing, payload: object) -> Fingerprint:
    """The fingerprint of a request body (its JSON, whatever the key order or whitespace)."""
    body = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    digests = [
        hmac.new(k, body, hashlib.sha256).hexdigest() for k in ring.signing_keys(FINGERPRINT_KEY)
    ]
    return Fingerprint(digests[0], frozenset(digests))


def prune_expired(*, session: Session, now: datetime, ttl: timedelta) -> int:
    """Delete the records of keys past their lifetime (they fingerprint a body that named a
    person); returns how many went."""
    gone = session.execute(
        delete(IdempotencyRecord).where(col(IdempotencyRecord.created_at) < now - ttl)
    )
    return int(gone.rowcount)  # type: ignore[attr-defined]


def claim(
    *,
    session: Session,
    key: str,
    digest: Fingerprint,
    lead_id: uuid.UUID,
    now: datetime,
    ttl: timedelta,
) -> uuid.UUID | None:
    """Claim `key` for the lead about to be created (None), or return the lead to replay.

    Raises IdempotencyKeyReusedError when the key came with another body within `ttl`."""
    values = _row(key, digest.value, lead_id, now)
    if insert_if_absent(session, IdempotencyRecord, values):
        return None
    earlier = stored(session=session, key=key, digest=digest, now=now, ttl=ttl)
    if earlier is not None:
        return earlier
    # Expired (or just deleted): take the key over, unless another request just did.
    taken = session.execute(
        update(IdempotencyRecord)
        .where(
            col(IdempotencyRecord.key) == key,
            col(IdempotencyRecord.created_at) < now - ttl,
        )
        .values(**values)
    )
    if taken.rowcount == 1:  # type: ignore[attr-defined]
        return None
    return claim(session=session, key=key, digest=digest, lead_id=lead_id, now=now, ttl=ttl)


@dataclass(frozen=True)
class Record:
    """A key as stored: the fingerprint of the body it came with, its lead and when."""

    digest: str
    lead_id: uuid.UUID
    created_at: datetime

    def replays(self, *, digest: Fingerprint, now: datetime, ttl: timedelta) -> bool:
        """Whether a request with this key and `digest` is a retry of this one (False once
        the key has expired). Raises IdempotencyKeyReusedError for another body."""
        if now - self.created_at > ttl:
            return False
        if not digest.matches(self.digest):
            raise IdempotencyKeyReusedError()
        return True


def stored(
    *, session: Session, key: str, digest: Fingerprint, now: datetime, ttl: timedelta
) -> uuid.UUID | None:
    """The lead that `key` names while it is valid (a retry to replay), or None when the key
    is free or expired; reads only, so a retry needs no write. Raises
    IdempotencyKeyReusedError when the key came with another body."""
    record = stored_many(session=session, keys=[key]).get(key)
    if record is None or not record.replays(digest=digest, now=now, ttl=ttl):
        return None
    return record.lead_id


def stored_many(*, session: Session, keys: Collection[str]) -> dict[str, Record]:
    """The records of those `keys` that are stored, expired or not, in one read (no ORM
    objects: leads read one per request)."""
    if not keys:
        return {}
    rows = session.exec(
        select(
            IdempotencyRecord.key,
            IdempotencyRecord.fingerprint,
            IdempotencyRecord.lead_id,
            IdempotencyRecord.created_at,
        ).where(col(IdempotencyRecord.key).in_(keys))
    )
    return {key: Record(digest, lead_id, created_at) for key, digest, lead_id, created_at in rows}


def claim_many(
    *, session: Session, claims: Sequence[tuple[str, str, uuid.UUID]], now: datetime
) -> set[str]:
    """Claim each free (key, digest, lead id) in one statement; returns the keys claimed.
    A key not claimed is held by another lead, maybe an expired one: `claim` settles it."""
    rows = [_row(key, digest, lead_id, now) for key, digest, lead_id in claims]
    return {str(key) for key in insert_many_if_absent(session, IdempotencyRecord, rows)}


def _row(key: str, digest: str, lead_id: uuid.UUID, now: datetime) -> dict[str, object]:
    """An IdempotencyRecord row: `key` claimed for `lead_id`, by a body of this digest."""
    return {"key": key, "fingerprint": digest, "lead_id": lead_id, "created_at": now}
