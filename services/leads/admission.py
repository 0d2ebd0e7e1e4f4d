"""Admission: what a consultation request must pass before it reaches the writer, holding no
lock or transaction meanwhile. A retry of a stored request (its Idempotency-Key with the same
body, within the key's lifetime) is answered even over the rate limit, since it uses nothing
up; a key stored with another body is refused uncharged; anything else is charged against its
client's rate limit (Redis, when configured), and refused over it.

Requests that arrive together are admitted together, in one read-only session: one read of
their keys, then one charge each (see `db.group_commit`, which batches them)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from core.crypto import KeyRing
from core.errors import DomainError, RateLimitedError
from db.models import utcnow
from schemas.leads import ConsultationRequestCreate
from services.leads import idempotency
from services.leads.rate_limit import RateDecision, RateLimiter

SCOPE = "consultation-requests"  # what the rate limit counts


@dataclass(frozen=True)
class Candidate:
    """A valid request asking to be stored: its body, its Idempotency-Key and the key its
    client's requests are counted under (`core.net.rate_limit_key`)."""

    data: ConsultationRequestCreate
    idempotency_key: str | None
    client: str


@dataclass(frozen=True)
class Admitted:
    """Let through: a retry (not charged), or a new request and the rate limit's numbers."""

    retry: bool
    decision: RateDecision | None = None


Verdict = Admitted | DomainError


def refusal(decision: RateDecision) -> RateLimitedError:
    """The 429 for a refused hit, with its RateLimit headers and Retry-After."""
    return RateLimitedError(
        "Too many consultation requests from this address; retry later.",
        headers=decision.headers(),
    )


def charge(*, limiter: RateLimiter, client: str) -> RateDecision | None:
    """Count one request from `client`; raises RateLimitedError over the limit."""
    decision = limiter.hit(SCOPE, client)
    if decision is not None and not decision.allowed:
        raise refusal(decision)
    return decision


def admit_many(
    *,
    session: Session,
    ring: KeyRing,
    limiter: RateLimiter,
    candidates: Sequence[Candidate],
    idempotency_ttl: timedelta,
) -> list[Verdict]:
    """One verdict per candidate, in order. Reads only. A key that two candidates carry is
    judged once: the second shares the first's fate (a retry of it when admitted, the same
    refusal when refused), or is refused when it came with another body."""
    keys = {c.idempotency_key for c in candidates if c.idempotency_key is not None}
    records = idempotency.stored_many(session=session, keys=keys)
    now = utcnow()
    first: dict[str, tuple[str, Verdict]] = {}  # key -> (fingerprint, verdict) of its first
    verdicts: list[Verdict] = []
    for candidate in candidates:
        key = candidate.idempotency_key
        if key is None:
            verdicts.append(_charged(limiter, candidate.client))
            continue
        digest = idempotency.fingerprint(ring=ring, payload=candidate.data.model_dump(mode="json"))
        if key in first:
            verdicts.append(_twin(first[key], digest))
            continue
        try:
            retry = _replays(records.get(key), digest, now, idempotency_ttl)
        except idempotency.IdempotencyKeyReusedError as reused:
            verdict: Verdict = reused
        else:
            verdict = Admitted(retry=True) if retry else _charged(limiter, candidate.client)
        first[key] = (digest.value, verdict)
        verdicts.append(verdict)
    return verdicts


def _charged(limiter: RateLimiter, client: str) -> Verdict:
    """A new request charged against its client's limit: admitted, or the 429."""
    try:
        return Admitted(retry=False, decision=charge(limiter=limiter, client=client))
    except RateLimitedError as refused:
        return refused


def _twin(earlier: tuple[str, Verdict], digest: idempotency.Fingerprint) -> Verdict:
    """A request whose key one admitted just before it carries: that one's fate."""
    earlier_digest, verdict = earlier
    if earlier_digest != digest.value:
        return idempotency.IdempotencyKeyReusedError()
    if isinstance(verdict, Admitted):
        return Admitted(retry=True)
    return verdict  # refused together: never a way around the limit


def _replays(
    record: idempotency.Record | None,
    digest: idempotency.Fingerprint,
    now: datetime,
    ttl: timedelta,
) -> bool:
    """Whether a request with this digest retries a stored one; raises
    IdempotencyKeyReusedError when that one came with another body."""
    return record is not None and record.replays(digest=digest, now=now, ttl=ttl)
