"""db/group_commit: leads submitted together are stored together, each answered with its own
outcome once its batch has committed, on a real database; a batch that fails whole is written
again lead by lead, each lead charged against its rate limit once."""

import asyncio
from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, func, select

from db.group_commit import GroupCommit
from db.lead_models import ConsultationRequest, IdempotencyRecord
from schemas.leads import ConsultationRequestCreate
from services.leads import intake
from tests.conftest import lead_body
from tests.vault_helpers import ring

CTX = intake.SubmissionContext(
    client_ip="192.0.2.1", user_agent="t", default_region="US", default_locale="en"
)
POISON = "poison"


@pytest.fixture
def engine(seeded):
    e = seeded.engine()
    yield e
    e.dispose()


def _leads(engine) -> int:
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(ConsultationRequest)).one())


def _submission(key: str) -> intake.Submission:
    data = ConsultationRequestCreate.model_validate(lead_body())
    return intake.Submission(data=data, ctx=CTX, idempotency_key=key)


class Recorder:
    """`intake.intake_many` as the app runs it, recording each unit of work's batch; a batch
    holding the poison key fails whole, as a database error would."""

    def __init__(self) -> None:
        self.batches: list[list[str | None]] = []

    def __call__(
        self, session: Session, items: Sequence[intake.Submission]
    ) -> list[intake.SubmissionOutcome]:
        keys = [item.idempotency_key for item in items]
        self.batches.append(keys)
        if POISON in keys:
            raise RuntimeError("the database refused this batch")
        return intake.intake_many(
            session=session, ring=ring(), submissions=items, idempotency_ttl=timedelta(days=1)
        )


def test_requests_submitted_together_share_units_of_work_and_keep_their_own_answers(engine):
    work = Recorder()
    writer = GroupCommit(engine, work, max_batch=8)

    async def submit_all() -> list[intake.SubmissionOutcome]:
        return await asyncio.gather(*(writer.submit(_submission(f"k{i}")) for i in range(30)))

    outcomes = asyncio.run(submit_all())
    assert _leads(engine) == 30
    with Session(engine) as s:
        claimed = {r.key: r.lead_id for r in s.exec(select(IdempotencyRecord))}
    stored = [o.lead_id for o in outcomes if isinstance(o, intake.IntakeResult)]
    assert stored == [claimed[f"k{i}"] for i in range(30)]
    # All 30 queued before the writer's first turn: four units of work, in order.
    assert [len(batch) for batch in work.batches] == [8, 8, 8, 6]
    assert [key for batch in work.batches for key in batch] == [f"k{i}" for i in range(30)]


def test_a_batch_that_fails_whole_is_written_again_item_by_item(engine):
    work = Recorder()
    writer = GroupCommit(engine, work)

    async def submit_all() -> list[object]:
        first = asyncio.create_task(writer.submit(_submission("alone")))
        await asyncio.sleep(0)  # it starts the writer; the next three queue behind it
        rest = [writer.submit(_submission(key)) for key in ("a", POISON, "b")]
        return await asyncio.gather(first, *rest, return_exceptions=True)

    alone, a, poison, b = asyncio.run(submit_all())
    assert work.batches[1] == ["a", POISON, "b"]  # failed whole, then one by one
    assert work.batches[2:] == [["a"], [POISON], ["b"]]
    assert isinstance(poison, RuntimeError)
    assert all(isinstance(o, intake.IntakeResult) for o in (alone, a, b))
    assert _leads(engine) == 3


def test_a_caller_that_gives_up_does_not_take_its_lead_back(engine):
    writer = GroupCommit(engine, Recorder())

    async def give_up() -> None:
        task = asyncio.create_task(writer.submit(_submission("gone")))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # A later submission waits for the batch in flight; by then the first is stored.
        await writer.submit(_submission("later"))

    asyncio.run(give_up())
    assert _leads(engine) == 2


def _new(key: str, ip: str) -> intake.Submission:
    ctx = intake.SubmissionContext(
        client_ip=ip, user_agent="t", default_region="US", default_locale="en"
    )
    data = ConsultationRequestCreate.model_validate(lead_body())
    return intake.Submission(data=data, ctx=ctx, idempotency_key=key)


class FailsFirstBatch:
    """`intake.intake_many` as the app runs it, except that the first batch of several leads
    fails as a whole once its work is done (the database refused the commit, a connection
    dropped): the group commit then writes its items again one by one."""

    def __init__(self) -> None:
        self.failed = False

    def __call__(
        self, session: Session, items: Sequence[intake.Submission]
    ) -> list[intake.SubmissionOutcome]:
        outcomes = intake.intake_many(
            session=session, ring=ring(), submissions=items, idempotency_ttl=timedelta(days=1)
        )
        if len(items) > 1 and not self.failed:
            self.failed = True
            raise OperationalError("COMMIT", {}, Exception("server closed the connection"))
        return outcomes


def _write_behind_a_lone_lead(engine, submissions: list[intake.Submission]) -> list[object]:
    writer = GroupCommit(engine, FailsFirstBatch())

    async def run() -> list[object]:
        first = asyncio.create_task(writer.submit(_new("alone", "192.0.2.99")))
        await asyncio.sleep(0)  # it starts the writer; the others queue behind it, one batch
        rest = [writer.submit(s) for s in submissions]
        return await asyncio.gather(first, *rest, return_exceptions=True)

    return asyncio.run(run())[1:]


def test_the_leads_of_a_batch_that_failed_whole_are_all_stored_when_written_again(engine):
    """The real intake behind a batch that fails whole once its work is done (a database
    error, through no fault of these requests): written again one by one, each lead is stored
    once and told so. (Admission, the rate limit, happens before a lead reaches the writer:
    api/consultations.py.)"""
    outcomes = _write_behind_a_lone_lead(
        engine, [_new(f"k{i}", f"192.0.2.{i}") for i in range(1, 4)]
    )
    assert all(isinstance(o, intake.IntakeResult) and not o.replayed for o in outcomes), outcomes
    assert _leads(engine) == 4
