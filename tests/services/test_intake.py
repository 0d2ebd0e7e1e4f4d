"""Lead intake and idempotency at the service level, in one unit of work each."""

import hashlib
import hmac
import os
from datetime import timedelta

import orjson
import pytest
from sqlalchemy import event
from sqlmodel import Session, func, select

from core.crypto import KeyRing, decode_key, new_key
from core.errors import ValidationFailedError
from db.lead_models import ConsultationRequest, IdempotencyRecord, LeadTerm
from db.models import utcnow
from db.session import unit_of_work
from db.webhook_models import WebhookEvent
from schemas.leads import ConsultationRequestCreate
from schemas.vocabulary import LeadStatus
from services.leads import idempotency, intake, vault
from tests.conftest import lead_body
from tests.vault_helpers import ring

CTX = intake.SubmissionContext(
    client_ip="192.0.2.1", user_agent="t", default_region="US", default_locale="en"
)
DAY = timedelta(hours=24)


def _count(engine, model) -> int:
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


def _intake(engine, body: dict[str, object], key: str | None = None, ttl: timedelta = DAY):
    with unit_of_work(engine) as session:
        return intake.intake(
            session=session,
            ring=ring(),
            data=ConsultationRequestCreate.model_validate(body),
            ctx=CTX,
            idempotency_key=key,
            idempotency_ttl=ttl,
        )


@pytest.fixture
def engine(seeded):
    e = seeded.engine()
    yield e
    e.dispose()


def test_a_lead_its_terms_its_event_and_its_key_are_one_transaction(engine):
    events = _count(engine, WebhookEvent)
    result = _intake(engine, lead_body(), key="one")
    assert not result.replayed
    with Session(engine) as s:
        lead = s.get_one(ConsultationRequest, result.lead_id)
        personal = vault.open_one(session=s, ring=ring(), lead=lead)
        assert lead.status == LeadStatus.NEW and personal.phone == "+14155550132"
        assert lead.disclaimer_versions  # what the source article showed
        assert s.get_one(IdempotencyRecord, "one").lead_id == lead.id
    assert _count(engine, LeadTerm) == 2 and _count(engine, WebhookEvent) == events + 1


def test_a_failed_validation_stores_nothing_not_even_the_key(engine):
    bad = lead_body(phone="+1 000 000", therapies=["not-a-therapy"])
    with pytest.raises(ValidationFailedError) as caught:
        _intake(engine, bad, key="bad")
    fields = {e["field"] for e in caught.value.extra["errors"]}
    # services name their inputs; where they sat in the request is the API's business
    assert fields == {"phone", "therapies.0"}
    codes = {e["type"] for e in caught.value.extra["errors"]}
    assert "unknown_therapy" in codes
    assert "Unknown therapy slug." in {e["message"] for e in caught.value.extra["errors"]}
    assert _count(engine, ConsultationRequest) == 0 and _count(engine, IdempotencyRecord) == 0
    assert not _intake(engine, lead_body(), key="bad").replayed  # the key is free again


def test_a_repeated_key_replays_the_first_lead(engine):
    first = _intake(engine, lead_body(), key="k")
    again = _intake(engine, lead_body(), key="k")
    assert again.replayed and again.lead_id == first.lead_id
    assert again.created_at == first.created_at
    assert _count(engine, ConsultationRequest) == 1


def test_a_key_reused_with_another_body_is_refused(engine):
    _intake(engine, lead_body(), key="k")
    with pytest.raises(idempotency.IdempotencyKeyReusedError) as caught:
        _intake(engine, lead_body(message="Something else."), key="k")
    assert caught.value.extra["errors"][0]["field"] == "idempotency_key"
    assert _count(engine, ConsultationRequest) == 1


def test_an_expired_key_is_taken_over(engine):
    first = _intake(engine, lead_body(), key="old")
    with unit_of_work(engine) as s:
        record = s.get_one(IdempotencyRecord, "old")
        record.created_at -= timedelta(hours=25)
    second = _intake(engine, lead_body(message="A new question."), key="old")
    assert not second.replayed and second.lead_id != first.lead_id
    assert _count(engine, ConsultationRequest) == 2


def test_the_honeypot_stores_spam_and_announces_nothing(engine):
    events = _count(engine, WebhookEvent)
    result = _intake(engine, lead_body(website="http://spam.example"))
    with Session(engine) as s:
        assert s.get_one(ConsultationRequest, result.lead_id).status == LeadStatus.SPAM
    assert _count(engine, WebhookEvent) == events


def test_fingerprints_ignore_key_order():
    def fp(payload: object) -> str:
        return idempotency.fingerprint(ring=ring(), payload=payload).value

    assert fp({"a": 1, "b": [2]}) == fp({"b": [2], "a": 1})
    assert fp({"a": 1}) != fp({"a": 2})


def test_a_stored_fingerprint_cannot_be_matched_without_the_master_key(engine):
    """Security III, 4: the fingerprint was an unkeyed SHA-256 of the body, so anyone with
    the database could test guessed names and emails against it (4.1 M guesses in 44 s). It
    is an HMAC under a subkey of the master key: without the key, the body's hash matches
    nothing; with another key, the same body fingerprints otherwise."""
    body = lead_body()
    _intake(engine, body, key="guessable")
    with Session(engine) as s:
        stored = s.get_one(IdempotencyRecord, "guessable").fingerprint
    values = ConsultationRequestCreate.model_validate(body).model_dump(mode="json")
    plain = orjson.dumps(values, option=orjson.OPT_SORT_KEYS)
    assert stored != hashlib.sha256(plain).hexdigest()
    subkey = hmac.new(
        decode_key(os.environ["CLINIC_DATA_KEY"]), b"idempotency-fingerprint", "sha256"
    )
    assert stored == hmac.new(subkey.digest(), plain, "sha256").hexdigest()
    other = KeyRing(new_key())
    assert idempotency.fingerprint(ring=other, payload=values).value != stored


def test_a_retry_across_a_key_rotation_still_replays(engine):
    first = _intake(engine, lead_body(), key="rotating")
    rotated = KeyRing(new_key(), previous=[decode_key(os.environ["CLINIC_DATA_KEY"])])
    with unit_of_work(engine) as session:
        again = intake.intake(
            session=session,
            ring=rotated,
            data=ConsultationRequestCreate.model_validate(lead_body()),
            ctx=CTX,
            idempotency_key="rotating",
            idempotency_ttl=DAY,
        )
    assert again.replayed and again.lead_id == first.lead_id


def test_expired_records_are_pruned_and_live_ones_kept(engine):
    _intake(engine, lead_body(), key="old")
    _intake(engine, lead_body(message="A later question."), key="new")
    with unit_of_work(engine) as session:
        old = session.get_one(IdempotencyRecord, "old")
        old.created_at = utcnow() - timedelta(hours=25)
        session.add(old)
    with unit_of_work(engine) as session:
        assert idempotency.prune_expired(session=session, now=utcnow(), ttl=DAY) == 1
    with Session(engine) as s:
        assert [r.key for r in s.exec(select(IdempotencyRecord))] == ["new"]
    assert _count(engine, ConsultationRequest) == 2  # the leads stay: only the keys go


def _submission(key: str | None = None, request_id: str | None = None, **changes):
    ctx = intake.SubmissionContext(
        client_ip="192.0.2.1",
        user_agent="t",
        default_region="US",
        default_locale="en",
        request_id=request_id,
    )
    data = ConsultationRequestCreate.model_validate(lead_body(**changes))
    return intake.Submission(data=data, ctx=ctx, idempotency_key=key)


def _intake_many(engine, submissions, statements: list[str] | None = None):
    def record(conn, cursor, statement, parameters, context, executemany):
        if statements is not None:
            statements.append(statement.split("(")[0].strip())

    event.listen(engine, "before_cursor_execute", record)
    try:
        with unit_of_work(engine) as session:
            return intake.intake_many(
                session=session, ring=ring(), submissions=submissions, idempotency_ttl=DAY
            )
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_many_leads_share_one_insert_per_table_and_each_outcome_is_its_own(engine):
    events = _count(engine, WebhookEvent)
    statements: list[str] = []
    outcomes = _intake_many(
        engine,
        [
            _submission("a", request_id="req-a"),
            _submission("b", phone="+1 000 000"),  # invalid: refused alone
            _submission("c", request_id="req-c"),
            _submission(None, request_id="req-d"),
        ],
        statements,
    )
    assert isinstance(outcomes[1], ValidationFailedError)
    stored = [o for o in outcomes if isinstance(o, intake.IntakeResult)]
    assert len(stored) == 3 and not any(o.replayed for o in stored)
    assert _count(engine, ConsultationRequest) == 3 and _count(engine, IdempotencyRecord) == 2
    assert _count(engine, WebhookEvent) == events + 3
    inserts = sorted(s for s in statements if s.startswith("INSERT"))
    assert inserts == [
        "INSERT INTO consultationrequest",
        "INSERT INTO idempotencyrecord",
        "INSERT INTO leadkey",
        "INSERT INTO leadterm",
        "INSERT INTO webhookevent",
    ]
    with Session(engine) as s:
        by_lead = {
            e.subject_id: e.request_id
            for e in s.exec(select(WebhookEvent).where(WebhookEvent.request_id != None))  # noqa: E711
        }
    assert by_lead == {
        str(outcomes[0].lead_id): "req-a",
        str(outcomes[2].lead_id): "req-c",
        str(outcomes[3].lead_id): "req-d",
    }


def test_a_key_twice_in_one_batch_is_one_lead_or_a_refusal(engine):
    first, again, other = _intake_many(
        engine,
        [_submission("k"), _submission("k"), _submission("k", message="Another question.")],
    )
    assert isinstance(first, intake.IntakeResult) and not first.replayed
    assert isinstance(again, intake.IntakeResult) and again.replayed
    assert again.lead_id == first.lead_id and again.created_at == first.created_at
    assert isinstance(other, idempotency.IdempotencyKeyReusedError)
    assert _count(engine, ConsultationRequest) == 1


def test_a_key_held_by_an_earlier_batch_replays_in_a_later_one(engine):
    (first,) = _intake_many(engine, [_submission("k")])
    fresh, again = _intake_many(engine, [_submission("other"), _submission("k")])
    assert again.replayed and again.lead_id == first.lead_id
    assert not fresh.replayed and _count(engine, ConsultationRequest) == 2
