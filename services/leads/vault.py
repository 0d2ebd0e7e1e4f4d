"""A lead's personal data, sealed under the lead's own data key: seal, open, re-seal, shred.

The data key exists only wrapped under the master key ring (core/crypto.py) in one LeadKey
row; erasure deletes that row, after which no copy of the sealed data (row, WAL, heap page,
backup, webhook event) can be opened."""

import base64
import logging
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import delete
from sqlmodel import Session, col, select

from core.crypto import CryptoKeyError, KeyRing, new_key, open_sealed, seal
from core.metrics import observe_unreadable_lead
from db.lead_models import ConsultationRequest, LeadKey

log = logging.getLogger("clinic.leads")


@dataclass(frozen=True)
class Personal:
    """Everything about a lead that identifies the person or that they wrote."""

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    preferred_time: str | None = None
    message: str | None = None
    notes: str | None = None
    client_ip: str | None = None
    user_agent: str | None = None
    page_url: str | None = None
    referrer: str | None = None
    # The campaign a lead came from: utm_content often carries an email, utm_term a search.
    utm: dict[str, str] | None = None


ERASED = Personal()


@dataclass(frozen=True)
class Unreadable(Personal):
    """What a lead opens to when its sealed data or its wrapped key cannot be opened (a
    damaged row, or a master key this process lacks): nothing, and a mark that says so."""


UNREADABLE = Unreadable()
# Each unreadable lead is logged and counted once per process, not once per list that shows it.
_REPORTED: set[uuid.UUID] = set()
_REPORTED_MAX = 10_000


def normalize_email(email: str) -> str:
    """The form an email is indexed under."""
    return email.strip().lower()


def email_index(*, ring: KeyRing, email: str) -> str:
    """The blind index a lead's email is stored under."""
    return ring.blind_index(normalize_email(email))


def email_indexes(*, ring: KeyRing, email: str) -> list[str]:
    """Every index the email may be stored under (several while a key rotation runs)."""
    return ring.blind_indexes(normalize_email(email))


def _context(lead_id: uuid.UUID, purpose: bytes) -> bytes:
    return purpose + b":" + lead_id.bytes


@dataclass(frozen=True)
class SealedLead:
    """A new lead as rows to insert (the lead, then its wrapped data key), and its data key,
    which seals the lead's first event in the same transaction."""

    lead_row: dict[str, Any]
    key_row: dict[str, Any]
    data_key: bytes


def seal_new(*, ring: KeyRing, lead: Mapping[str, Any], personal: Personal) -> SealedLead:
    """Seal a new lead's personal data under a data key of its own, wrapped under the ring.
    `lead` is the lead's row (every ConsultationRequest column); rows, not ORM objects: leads
    are inserted many at a time and never read back in their transaction."""
    data_key = new_key()
    lead_id: uuid.UUID = lead["id"]
    sealed, index = _sealed(ring, lead_id, data_key, personal)
    master_id, wrapped = ring.wrap(data_key, context=_context(lead_id, b"lead-key"))
    key_row = {
        "lead_id": lead_id,
        "master_key_id": master_id,
        "wrapped": wrapped,
        "created_at": lead["created_at"],
    }
    return SealedLead({**lead, "sealed": sealed, "email_index": index}, key_row, data_key)


def _store(ring: KeyRing, lead: ConsultationRequest, data_key: bytes, personal: Personal) -> None:
    lead.sealed, lead.email_index = _sealed(ring, lead.id, data_key, personal)


def _sealed(
    ring: KeyRing, lead_id: uuid.UUID, data_key: bytes, personal: Personal
) -> tuple[bytes, str | None]:
    """A lead's personal data sealed under its key, and the blind index of its email."""
    # orjson writes a dataclass as its fields in order: asdict's dict, without its deep copy.
    sealed = seal(data_key, orjson.dumps(personal), context=_context(lead_id, b"lead"))
    return sealed, email_index(ring=ring, email=personal.email) if personal.email else None


def _data_keys(
    session: Session, ring: KeyRing, lead_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, bytes]:
    """The leads' data keys; CryptoKeyError when one of them will not unwrap."""
    keys, broken = _openable_keys(session, ring, lead_ids)
    if broken:
        raise CryptoKeyError("a lead's data key does not unwrap")
    return keys


def _openable_keys(
    session: Session, ring: KeyRing, lead_ids: Sequence[uuid.UUID]
) -> tuple[dict[uuid.UUID, bytes], set[uuid.UUID]]:
    """The data keys that unwrap, and the leads whose key does not (kept, but unreadable)."""
    keys: dict[uuid.UUID, bytes] = {}
    broken: set[uuid.UUID] = set()
    for k in session.exec(select(LeadKey).where(col(LeadKey.lead_id).in_(lead_ids))):
        try:
            keys[k.lead_id] = ring.unwrap(
                k.master_key_id, k.wrapped, context=_context(k.lead_id, b"lead-key")
            )
        except (CryptoKeyError, ValueError):  # ValueError: a value cut too short to hold a nonce
            broken.add(k.lead_id)
    return keys, broken


def _unreadable(lead_id: uuid.UUID) -> Unreadable:
    """Log and count an unreadable lead, the first time this process meets it."""
    if lead_id not in _REPORTED and len(_REPORTED) < _REPORTED_MAX:
        _REPORTED.add(lead_id)
        log.error("lead_unreadable", extra={"lead": str(lead_id)})
        observe_unreadable_lead()
    return UNREADABLE


def open_many(
    *, session: Session, ring: KeyRing, leads: Sequence[ConsultationRequest]
) -> dict[uuid.UUID, Personal]:
    """Each lead's personal data; an erased lead (no key) opens to all-None, and one whose
    data or key cannot be opened to UNREADABLE (one damaged row never fails the others)."""
    keys, broken = (
        _openable_keys(session, ring, [lead.id for lead in leads]) if leads else ({}, set())
    )
    out: dict[uuid.UUID, Personal] = {}
    for lead in leads:
        key = keys.get(lead.id)
        if lead.id in broken or (key is None and lead.sealed and lead.erased_at is None):
            out[lead.id] = _unreadable(lead.id)  # a damaged key, or a key row gone unerased
        elif key is None or lead.sealed is None:
            out[lead.id] = ERASED
        else:
            try:
                raw = open_sealed(key, lead.sealed, context=_context(lead.id, b"lead"))
                out[lead.id] = Personal(**orjson.loads(raw))
            except (CryptoKeyError, ValueError, TypeError):  # orjson's error is a ValueError
                out[lead.id] = _unreadable(lead.id)
    return out


def open_one(*, session: Session, ring: KeyRing, lead: ConsultationRequest) -> Personal:
    """One lead's personal data (all-None once erased)."""
    return open_many(session=session, ring=ring, leads=[lead])[lead.id]


def reseal(
    *, session: Session, ring: KeyRing, lead: ConsultationRequest, personal: Personal
) -> None:
    """Store changed personal data (e.g. staff notes) under the lead's existing key."""
    key = _data_keys(session, ring, [lead.id]).get(lead.id)
    if key is None:
        raise CryptoKeyError("the lead was erased; its data key no longer exists")
    _store(ring, lead, key, personal)


def shred(*, session: Session, lead: ConsultationRequest) -> None:
    """Destroy the lead's data key: what it sealed stays, and can never be opened again."""
    session.execute(delete(LeadKey).where(col(LeadKey.lead_id) == lead.id))
    lead.email_index = None


def seal_event(
    *, session: Session, ring: KeyRing, lead_id: uuid.UUID, data: dict[str, Any]
) -> dict[str, Any]:
    """An event's data about a lead, sealed under that lead's key (the outbox stores this)."""
    return seal_event_under(_data_keys(session, ring, [lead_id])[lead_id], lead_id, data)


def seal_event_under(data_key: bytes, lead_id: uuid.UUID, data: dict[str, Any]) -> dict[str, Any]:
    """`seal_event` given the lead's data key (a new lead's, from `seal_new`)."""
    sealed = seal(data_key, orjson.dumps(data), context=_context(lead_id, b"event"))
    return {"id": str(lead_id), "sealed": base64.b64encode(sealed).decode()}


def open_event(*, session: Session, ring: KeyRing, data: dict[str, Any]) -> dict[str, Any] | None:
    """The data `seal_event` sealed, or None once the lead's key was destroyed."""
    lead_id = uuid.UUID(data["id"])
    key = _data_keys(session, ring, [lead_id]).get(lead_id)
    if key is None:
        return None
    raw = open_sealed(key, base64.b64decode(data["sealed"]), context=_context(lead_id, b"event"))
    opened: dict[str, Any] = orjson.loads(raw)
    return opened


@dataclass(frozen=True)
class Rewrapped:
    """What one `rewrap_all` batch did: keys moved, and keys that would not unwrap."""

    moved: int
    unopenable: list[uuid.UUID]


def rewrap_all(
    *, session: Session, ring: KeyRing, limit: int, skip: Collection[uuid.UUID] = ()
) -> Rewrapped:
    """Wrap up to `limit` data keys under the current master key and re-index their emails.
    A key that will not unwrap (damaged, or under a master key not configured) is left as it
    is and named, so that the caller skips it next time (`skip`) and a rotation still ends.
    Idempotent, so an interrupted rotation can simply run again."""
    moved = 0
    unopenable: list[uuid.UUID] = []
    stale = (
        select(LeadKey)
        .where(col(LeadKey.master_key_id) != ring.current.id)
        .where(col(LeadKey.lead_id).not_in(list(skip)))
        .limit(limit)
    )
    for key_row in session.exec(stale).all():
        context = _context(key_row.lead_id, b"lead-key")
        try:
            data_key = ring.unwrap(key_row.master_key_id, key_row.wrapped, context=context)
        except (CryptoKeyError, ValueError):
            unopenable.append(key_row.lead_id)
            continue
        key_row.master_key_id, key_row.wrapped = ring.wrap(data_key, context=context)
        lead = session.get_one(ConsultationRequest, key_row.lead_id)
        personal = open_one(session=session, ring=ring, lead=lead) if lead.sealed else ERASED
        if not isinstance(personal, Unreadable):  # its index stays as it was
            lead.email_index = (
                email_index(ring=ring, email=personal.email) if personal.email else None
            )
        session.add_all([key_row, lead])
        moved += 1
    return Rewrapped(moved, unopenable)
