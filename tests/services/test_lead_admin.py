"""Staff operations on leads at the service level: each audited, in the caller's transaction."""

import csv
import io
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import partial

import pytest
from sqlmodel import Session, col, select

from core.errors import ConflictError, NotFoundError, ValidationFailedError
from db.lead_models import AuditEntry, ConsultationRequest, IdempotencyRecord
from db.session import read_session, unit_of_work
from db.webhook_models import WebhookEvent
from schemas.leads import ConsultationRequestCreate, ConsultationRequestUpdate
from schemas.vocabulary import LeadStatus
from services.leads import intake, staff, vault
from tests.conftest import lead_body
from tests.vault_helpers import ring

CTX = intake.SubmissionContext(
    client_ip="192.0.2.1", user_agent="t", default_region="US", default_locale="en"
)
ACTOR = uuid.uuid4()


@pytest.fixture
def engine(seeded):
    e = seeded.engine()
    yield e
    e.dispose()


def _lead(engine, **changes) -> uuid.UUID:
    with unit_of_work(engine) as s:
        data = ConsultationRequestCreate.model_validate(lead_body(**changes))
        return intake.create_lead(session=s, ring=ring(), data=data, ctx=CTX).id


def _actions(engine) -> list[str]:
    with Session(engine) as s:
        return [a.action for a in s.exec(select(AuditEntry).order_by(col(AuditEntry.id)))]


def test_cursor_pages_walk_every_lead_once_newest_first(engine):
    ids = [_lead(engine) for _ in range(5)]
    seen, cursor = [], None
    while True:
        with unit_of_work(engine) as s:
            page, cursor = staff.list_leads(
                session=s,
                ring=ring(),
                actor=ACTOR,
                filters=staff.LeadFilters(),
                cursor=cursor,
                page_size=2,
            )
        seen += [lead.id for lead in page]
        if cursor is None:
            break
    assert seen == ids[::-1]
    assert _actions(engine) == ["lead.list"] * 3


def test_a_tampered_cursor_names_the_cursor(engine):
    with unit_of_work(engine) as s, pytest.raises(ValidationFailedError) as caught:
        staff.list_leads(
            session=s,
            ring=ring(),
            actor=ACTOR,
            filters=staff.LeadFilters(),
            cursor="!!",
            page_size=2,
        )
    assert caught.value.extra["errors"][0]["field"] == "cursor"


def test_status_moves_forward_only_and_each_change_is_announced(engine):
    lead_id = _lead(engine)
    with unit_of_work(engine) as s:
        out = staff.update_lead(
            session=s,
            ring=ring(),
            actor=ACTOR,
            lead_id=lead_id,
            change=ConsultationRequestUpdate(status=LeadStatus.SCHEDULED),
            reveal=True,
        )
    assert out.status == LeadStatus.SCHEDULED
    with unit_of_work(engine) as s, pytest.raises(ConflictError):
        staff.update_lead(
            session=s,
            ring=ring(),
            actor=ACTOR,
            lead_id=lead_id,
            change=ConsultationRequestUpdate(status=LeadStatus.NEW),
            reveal=True,
        )
    with Session(engine) as s:
        types = [
            e.type
            for e in s.exec(select(WebhookEvent).where(WebhookEvent.subject_id == str(lead_id)))
        ]
    assert sorted(types) == ["consultation_request.created", "consultation_request.updated"]
    assert _actions(engine) == ["lead.update"]  # the refused change rolled back with its audit


def test_erasure_scrubs_the_lead_and_its_events(engine):
    with unit_of_work(engine) as s:
        data = ConsultationRequestCreate.model_validate(lead_body())
        lead_id = intake.intake(
            session=s,
            ring=ring(),
            data=data,
            ctx=CTX,
            idempotency_key="erase-me",
            idempotency_ttl=timedelta(hours=24),
        ).lead_id
    with unit_of_work(engine) as s:
        staff.erase_lead(session=s, ring=ring(), actor=ACTOR, lead_id=lead_id)
    with Session(engine) as s:
        lead = s.get_one(ConsultationRequest, lead_id)
        assert lead.erased_at is not None
        assert lead.sealed and lead.email_index is None  # the ciphertext stays: no key opens it
        assert s.get(IdempotencyRecord, "erase-me") is None  # it fingerprinted the body
        assert vault.open_one(session=s, ring=ring(), lead=lead) == vault.ERASED
        events = s.exec(select(WebhookEvent).where(WebhookEvent.subject_id == str(lead_id))).all()
        assert len(events) == 2  # created, then updated by the erasure
        for evt in events:
            assert "example.com" not in str(evt.data) and "Ana" not in str(evt.data)
    with unit_of_work(engine) as s, pytest.raises(ConflictError):
        staff.update_lead(
            session=s,
            ring=ring(),
            actor=ACTOR,
            lead_id=lead_id,
            change=ConsultationRequestUpdate(notes="x"),
            reveal=False,
        )


def test_an_unknown_lead_is_not_found(engine):
    with unit_of_work(engine) as s, pytest.raises(NotFoundError):
        staff.get_lead(session=s, ring=ring(), actor=ACTOR, lead_id=uuid.uuid4())


def test_csv_keeps_formulas_from_running(engine):
    _lead(engine, first_name="=HYPERLINK(1)")
    lines = staff.csv_lines(
        sessions=partial(read_session, engine), ring=ring(), filters=staff.LeadFilters()
    )
    text = "".join(lines)
    assert "'=HYPERLINK(1)" in text and text.startswith("id,created_at,status")


def test_an_export_reads_page_by_page_with_no_session_open_between_lines(engine, monkeypatch):
    ids = [_lead(engine) for _ in range(5)]
    monkeypatch.setattr(staff, "EXPORT_PAGE", 2)
    open_now = 0
    opened = 0

    @contextmanager
    def sessions() -> Iterator[Session]:
        nonlocal open_now, opened
        open_now, opened = open_now + 1, opened + 1
        try:
            with read_session(engine) as session:
                yield session
        finally:
            open_now -= 1

    exported = []
    for line in staff.csv_lines(sessions=sessions, ring=ring(), filters=staff.LeadFilters()):
        assert open_now == 0  # the caller takes each line with no session open
        exported.append(line)
    rows = list(csv.DictReader(io.StringIO("".join(exported))))
    assert [r["id"] for r in rows] == [str(i) for i in reversed(ids)]  # each once, newest first
    assert opened == 3  # pages of 2, 2 and 1


def test_an_update_answers_personal_data_only_when_told_and_audits_which(engine):
    lead_id = _lead(engine)
    with unit_of_work(engine) as s:
        hidden = staff.update_lead(
            session=s,
            ring=ring(),
            actor=ACTOR,
            lead_id=lead_id,
            change=ConsultationRequestUpdate(notes="Left a voicemail."),
            reveal=False,
        )
    assert hidden.view == "state"
    assert set(hidden.model_dump()) == {
        "view",
        "id",
        "created_at",
        "updated_at",
        "status",
        "erased_at",
    }
    with unit_of_work(engine) as s:
        shown = staff.update_lead(
            session=s,
            ring=ring(),
            actor=ACTOR,
            lead_id=lead_id,
            change=ConsultationRequestUpdate(),
            reveal=True,
        )
    assert shown.view == "staff" and shown.model_dump()["notes"] == "Left a voicemail."
    with Session(engine) as s:
        details = [a.detail for a in s.exec(select(AuditEntry).order_by(col(AuditEntry.id)))]
    assert details == [
        {"notes": True, "personal_data_returned": False},
        {"personal_data_returned": True},
    ]
