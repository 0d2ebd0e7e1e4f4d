"""API keys made or revoked by an operator on the command line are audited too."""

import os
import subprocess
import sys

from sqlmodel import Session, col, select

from core.config import PROJECT_ROOT
from db.lead_models import AuditEntry


def _cli(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "CLINIC_DATABASE_URL": database_url},
        timeout=120,
        check=False,
    )


def test_creating_and_revoking_a_key_on_the_command_line_is_audited(migrated):
    made = _cli(
        "create-api-key", "--name", "CRM", "--scopes", "leads:read", database_url=migrated.url
    )
    assert made.returncode == 0, made.stderr
    key_id = made.stdout.split()[3]  # "created API key <id> 'CRM' ..."
    revoked = _cli("revoke-api-key", key_id, database_url=migrated.url)
    assert revoked.returncode == 0, revoked.stderr
    engine = migrated.engine()
    with Session(engine) as s:
        entries = s.exec(select(AuditEntry).order_by(col(AuditEntry.id))).all()
    engine.dispose()
    assert [e.action for e in entries] == ["api_key.create", "api_key.revoke"]
    for entry in entries:
        assert entry.api_key_id is None and entry.lead_id is None
        assert entry.detail["via"] == "cli" and entry.detail["key_id"] == key_id
    assert entries[0].detail["scopes"] == ["leads:read"]
