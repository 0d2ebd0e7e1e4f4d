"""Idempotency-Key handling (IETF draft): replay, conflict and mismatch, enforced by a
primary key in the database so that it holds across processes."""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

import orjson
from sqlalchemy import Engine, delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from core.errors import ConflictError, ValidationFailedError
from db.lead_models import IdempotencyRecord
from db.models import utcnow

# A claim older than this whose request never finished (its process died) may be taken over.
STALE_IN_FLIGHT = timedelta(seconds=60)


@dataclass(frozen=True)
class StoredResponse:
    """The first response to a key, to be replayed."""

    status: int
    body: bytes
    location: str | None


def fingerprint(payload: object) -> str:
    """A digest of the request body that ignores key order and whitespace."""
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


def claim(*, engine: Engine, key: str, digest: str, ttl: timedelta) -> StoredResponse | None:
    """Claim `key` for this request (None), or return the response to replay.

    Raises 409 while another request with the key is in flight, 422 if the key was used with
    a different body."""
    for _ in range(5):
        with Session(engine) as session:
            session.add(IdempotencyRecord(key=key, fingerprint=digest, state="in_flight"))
            try:
                session.commit()
                return None
            except IntegrityError:
                session.rollback()
            record = session.get(IdempotencyRecord, key)
            if record is None:
                continue  # expired and removed meanwhile: try again
            age = utcnow() - record.created_at
            expired = age > ttl or (record.state == "in_flight" and age > STALE_IN_FLIGHT)
            if expired:
                _delete(session, key, record)
                continue
            if record.fingerprint != digest:
                raise ValidationFailedError(
                    [
                        {
                            "field": "header.Idempotency-Key",
                            "type": "idempotency_key_reused",
                            "message": "This key was already used with a different request body.",
                        }
                    ],
                    code="idempotency_key_reused",
                )
            if record.state == "in_flight":
                raise ConflictError(
                    "A request with this Idempotency-Key is still being processed; retry shortly.",
                    code="idempotency_in_flight",
                    headers={"Retry-After": "1"},
                )
            return StoredResponse(
                status=record.response_status or 200,
                body=(record.response_body or "").encode(),
                location=record.response_location,
            )
    raise ConflictError("Could not claim the Idempotency-Key; retry.", code="idempotency_in_flight")


def _delete(session: Session, key: str, record: IdempotencyRecord) -> None:
    session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.key == key,  # type: ignore[arg-type]
            IdempotencyRecord.created_at == record.created_at,  # type: ignore[arg-type]
        )
    )
    session.commit()


def complete(*, session: Session, key: str, status: int, body: bytes, location: str | None) -> None:
    """Store the response, in the same transaction as the work it describes."""
    record = session.get(IdempotencyRecord, key)
    if record is None:  # pragma: no cover - the claim is ours until we finish
        raise ConflictError("Idempotency claim was lost.", code="idempotency_in_flight")
    record.state = "done"
    record.response_status = status
    record.response_body = body.decode()
    record.response_location = location
    session.add(record)


def release(*, engine: Engine, key: str) -> None:
    """Give the key back after a failed request, so that a retry can run."""
    with Session(engine) as session:
        session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.key == key,  # type: ignore[arg-type]
                IdempotencyRecord.state == "in_flight",  # type: ignore[arg-type]
            )
        )
        session.commit()
