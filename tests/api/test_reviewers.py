"""The reviewer registry: NPI check digits, the CLI, the admin list, and keys bound to a
reviewer (scope `content:review`)."""

import os
import subprocess
import sys
import uuid

import pytest
from pydantic import ValidationError

from core.config import PROJECT_ROOT
from schemas.reviewers import ReviewerCreate, npi_check_digit_ok


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "CLINIC_DATABASE_URL": database_url},
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("npi", "valid"),
    [("1234567893", True), ("1245319599", True), ("1234567890", False), ("1245319598", False)],
)
def test_npi_check_digit(npi: str, valid: bool):
    assert npi_check_digit_ok(npi) is valid


def test_reviewer_fields_are_checked():
    for bad in (
        {"npi": "1234567890"},
        {"npi": "123"},
        {"licence_state": "California"},
        {"name": "Ana\x00Ruiz"},
        {"profile_url": "javascript:alert(1)"},
        {"credentials": "M" * 101},
    ):
        with pytest.raises(ValidationError):
            ReviewerCreate.model_validate(
                {"name": "Ana Ruiz", "credentials": "MD", "specialty": "Psychiatry", **bad}
            )


def test_cli_adds_and_lists_reviewers_and_binds_keys(seeded):
    added = _cli(
        seeded.url,
        "add-reviewer", "--name", "Ana Ruiz", "--credentials", "MD",
        "--specialty", "Psychiatry", "--npi", "1234567893", "--licence-state", "CA",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    reviewer_id = uuid.UUID(added.stdout.strip().splitlines()[-1])
    twice = _cli(
        seeded.url, "add-reviewer", "--name", "B", "--credentials", "DO",
        "--specialty", "Psychiatry", "--npi", "1234567893",
    )  # fmt: skip
    assert twice.returncode == 2 and "NPI 1234567893" in twice.stderr
    bad = _cli(
        seeded.url, "add-reviewer", "--name", "C", "--credentials", "DO",
        "--specialty", "Psychiatry", "--npi", "1234567890",
    )  # fmt: skip
    assert bad.returncode == 2 and "--npi" in bad.stderr and "Traceback" not in bad.stderr
    listed = _cli(seeded.url, "list-reviewers")
    assert f"{reviewer_id}  Ana Ruiz, MD (Psychiatry) npi 1234567893" in listed.stdout

    unbound = _cli(seeded.url, "create-api-key", "--name", "r", "--scopes", "content:review")
    assert unbound.returncode == 2 and "--reviewer" in unbound.stderr
    unknown = _cli(
        seeded.url, "create-api-key", "--name", "r", "--scopes", "content:review",
        "--reviewer", str(uuid.uuid4()),
    )  # fmt: skip
    assert unknown.returncode == 2 and "no reviewer" in unknown.stderr
    bound = _cli(
        seeded.url, "create-api-key", "--name", "r", "--scopes", "content:review",
        "--reviewer", str(reviewer_id),
    )  # fmt: skip
    assert bound.returncode == 0, bound.stderr


def test_admin_lists_reviewers_to_writers_and_reviewers_only(make_client, issue_key, add_reviewer):
    ana = add_reviewer("Ana Ruiz", npi="1234567893", profile_url="https://clinic.example/ana")
    client = make_client()
    review = issue_key("content:review", reviewer=ana)
    for token in (issue_key("content:write"), review):
        answer = client.get("/v1/admin/reviewers", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200
        (item,) = [i for i in answer.json()["items"] if i["id"] == str(ana)]
        assert item["npi"] == "1234567893"
        assert item["profile_url"] == "https://clinic.example/ana"
    other = issue_key("leads:read")
    refused = client.get("/v1/admin/reviewers", headers={"Authorization": f"Bearer {other}"})
    assert refused.status_code == 403
    assert "'content:write' or 'content:review'" in refused.json()["detail"]
    assert client.get("/v1/admin/reviewers").status_code == 401
