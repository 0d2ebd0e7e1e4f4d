"""Admission before the writer: a retry is answered even over the limit, a key reused with
another body is refused uncharged, anything else is charged once; all of it reads only."""

from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlmodel import Session, func, select

from core.errors import RateLimitedError
from db.lead_models import ConsultationRequest, IdempotencyRecord
from db.session import read_session, unit_of_work
from schemas.leads import ConsultationRequestCreate
from services.leads import admission, idempotency, intake
from services.leads.rate_limit import RateLimiter
from tests.conftest import lead_body
from tests.vault_helpers import ring

DAY = timedelta(days=1)
KEY = b"rate-limit-key-for-these-tests!!"
CTX = intake.SubmissionContext(
    client_ip="192.0.2.1", user_agent="t", default_region="US", default_locale="en"
)


@pytest.fixture
def engine(seeded):
    e = seeded.engine()
    yield e
    e.dispose()


def _body(**changes: object) -> ConsultationRequestCreate:
    return ConsultationRequestCreate.model_validate(lead_body(**changes))


def _store(engine, key: str) -> None:
    with unit_of_work(engine) as session:
        intake.intake(
            session=session,
            ring=ring(),
            data=_body(),
            ctx=CTX,
            idempotency_key=key,
            idempotency_ttl=DAY,
        )


def _admit(engine, limiter, *candidates, ttl: timedelta = DAY) -> list[admission.Verdict]:
    writes: list[str] = []

    def record(_conn, _cursor, statement: str, *_args: object) -> None:
        if statement.lstrip().split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}:
            writes.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        with read_session(engine) as session:
            verdicts = admission.admit_many(
                session=session,
                ring=ring(),
                limiter=limiter,
                candidates=candidates,
                idempotency_ttl=ttl,
            )
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert writes == []  # admission reads only
    return verdicts


def _candidate(key: str | None, client: str = "192.0.2.1", **changes: object):
    return admission.Candidate(data=_body(**changes), idempotency_key=key, client=client)


def _count(engine, model) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def test_a_retry_is_answered_over_the_limit_and_a_new_request_is_refused(engine):
    limiter = RateLimiter("1/minute", redis_url=None, namespace="admission-1", key=KEY)
    _store(engine, "k")
    first, retry, fresh, no_key = _admit(
        engine,
        limiter,
        _candidate("new"),
        _candidate("k"),  # stored with the same body: a retry, not charged
        _candidate("other"),
        _candidate(None),
    )
    assert isinstance(first, admission.Admitted) and not first.retry
    assert first.decision is not None and first.decision.remaining == 0
    assert isinstance(retry, admission.Admitted) and retry.retry and retry.decision is None
    assert isinstance(fresh, RateLimitedError) and "Retry-After" in fresh.headers
    assert isinstance(no_key, RateLimitedError)
    (late,) = _admit(engine, limiter, _candidate("k"))
    assert isinstance(late, admission.Admitted) and late.retry  # still answered over the limit


def test_a_key_reused_with_another_body_is_refused_before_any_charge(engine):
    limiter = RateLimiter("1/minute", redis_url=None, namespace="admission-2", key=KEY)
    _store(engine, "k")
    reused, new = _admit(
        engine, limiter, _candidate("k", message="Something else."), _candidate("n")
    )
    assert isinstance(reused, idempotency.IdempotencyKeyReusedError)
    assert isinstance(new, admission.Admitted)  # the refused one used up nothing


def test_a_key_twice_among_those_admitted_together_is_charged_once(engine):
    limiter = RateLimiter("1/minute", redis_url=None, namespace="admission-3", key=KEY)
    first, again, other_body = _admit(
        engine,
        limiter,
        _candidate("twice"),
        _candidate("twice"),
        _candidate("twice", message="Another question."),
    )
    assert isinstance(first, admission.Admitted) and not first.retry
    assert isinstance(again, admission.Admitted) and again.retry
    assert isinstance(other_body, idempotency.IdempotencyKeyReusedError)


def test_an_expired_key_is_a_new_request_again(engine):
    limiter = RateLimiter("5/minute", redis_url=None, namespace="admission-4", key=KEY)
    _store(engine, "old")
    (verdict,) = _admit(engine, limiter, _candidate("old"), ttl=timedelta(0))
    assert isinstance(verdict, admission.Admitted) and not verdict.retry
    assert verdict.decision is not None and verdict.decision.remaining == 4
    assert _count(engine, IdempotencyRecord) == 1 and _count(engine, ConsultationRequest) == 1


def test_clients_are_counted_apart(engine):
    limiter = RateLimiter("1/minute", redis_url=None, namespace="admission-5", key=KEY)
    verdicts = _admit(
        engine,
        limiter,
        _candidate(None, client="192.0.2.1"),
        _candidate(None, client="192.0.2.2"),
        _candidate(None, client="192.0.2.1"),
    )
    assert [type(v).__name__ for v in verdicts] == ["Admitted", "Admitted", "RateLimitedError"]


def test_the_twin_of_a_refused_request_is_refused_too(engine):
    """Review finding: a refused request's key was remembered as admitted, so its twin in the
    same batch passed as its "retry", uncharged, and was stored: a burst of pairs beat the
    limit."""
    limiter = RateLimiter("1/minute", redis_url=None, namespace="admission-6", key=KEY)
    (used,) = _admit(engine, limiter, _candidate(None))
    assert isinstance(used, admission.Admitted)
    refused, twin, other_body = _admit(
        engine,
        limiter,
        _candidate("k1"),
        _candidate("k1"),
        _candidate("k1", message="Another question."),
    )
    assert isinstance(refused, RateLimitedError)
    assert isinstance(twin, RateLimitedError)
    assert isinstance(other_body, idempotency.IdempotencyKeyReusedError)
