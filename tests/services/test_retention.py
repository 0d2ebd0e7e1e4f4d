"""Idempotency-Key records last as long as their key: the worker's loop and the CLI prune the
expired ones, and the upgrade to keyed fingerprints deletes the unkeyed ones it finds."""

import asyncio
import hashlib
import os
import subprocess
import sys
import uuid
from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import text
from sqlmodel import Session, select

from core.config import PROJECT_ROOT
from db.lead_models import IdempotencyRecord
from db.migrate import alembic_config, upgrade
from db.models import utcnow
from db.session import unit_of_work
from services.leads.retention import prune_periodically
from tests.waiting import eventually

DAY = timedelta(days=1)


@pytest.fixture
def engine(migrated):
    e = migrated.engine()
    yield e
    e.dispose()


def _records(engine, **ages: timedelta) -> None:
    with unit_of_work(engine) as session:
        for key, age in ages.items():
            session.add(
                IdempotencyRecord(
                    key=key, fingerprint="0" * 64, lead_id=uuid.uuid4(), created_at=utcnow() - age
                )
            )


def _keys(engine) -> list[str]:
    with Session(engine) as s:
        return sorted(r.key for r in s.exec(select(IdempotencyRecord)))


def test_the_periodic_prune_removes_expired_records_until_stopped(engine):
    _records(engine, expired=timedelta(hours=30), live=timedelta(hours=1))

    async def run() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(prune_periodically(engine, ttl=DAY, stop=stop, every=3600))
        await asyncio.to_thread(eventually, lambda: _keys(engine) == ["live"], 30, "a prune")
        stop.set()
        await asyncio.wait_for(task, 30)  # it stops when told, not after its hour

    asyncio.run(run())
    assert _keys(engine) == ["live"]


def test_the_cli_prunes_expired_records(migrated):
    engine = migrated.engine()
    _records(engine, expired=timedelta(hours=30), live=timedelta(hours=1))
    done = subprocess.run(
        [sys.executable, "-m", "cli", "prune-idempotency-keys"],
        cwd=PROJECT_ROOT,
        env={
            "CLINIC_DATABASE_URL": migrated.url,
            "CLINIC_DATA_KEY": os.environ["CLINIC_DATA_KEY"],  # PostgreSQL requires one
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "deleted 1 expired Idempotency-Key record(s)"
    assert _keys(engine) == ["live"]
    engine.dispose()


def test_the_upgrade_deletes_the_unkeyed_fingerprints(database):
    command.upgrade(alembic_config(database.url), "0014")
    unkeyed = hashlib.sha256(b'{"email":"ana.diaz@example.com"}').hexdigest()
    lead = uuid.uuid4()
    with database.engine().begin() as conn:
        conn.execute(
            text(
                "INSERT INTO idempotencyrecord (key, fingerprint, lead_id, created_at) "
                "VALUES ('k', :fp, :lead, CURRENT_TIMESTAMP)"
            ),
            {"fp": unkeyed, "lead": lead.hex if database.backend == "sqlite" else lead},
        )
    upgrade(database.url)
    with database.engine().connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM idempotencyrecord")).scalar_one() == 0
