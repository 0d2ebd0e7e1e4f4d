"""Every admin operation by every set of scopes: which personal fields its answer carries.

A lead's personal and health data leaves the API only to a key that holds `leads:read`,
whichever route answers (the red team's HIGH finding: a `leads:write` PATCH of `{}` answered the
whole staff view). Each case gets a fresh lead, marked with values found nowhere else, and a
fresh webhook endpoint with a delivery, so that a destructive operation (erase, delete) or an
earlier case never hides what a later one would reveal."""

import csv
import io
import itertools
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session, col, select

from db.lead_models import AuditEntry
from services.access.api_keys import CONTENT_REVIEW, SCOPES
from tests.conftest import lead_body

HOOKS = "/v1/admin/webhook-endpoints"
LEADS = "/v1/admin/consultation-requests"
# Fields that carry personal or health data, under the names any answer gives them.
PERSONAL = frozenset(
    {
        "first_name",
        "last_name",
        "email",
        "phone",
        "message",
        "notes",
        "preferred_time",
        "client_ip",
        "user_agent",
        "source_page_url",
        "source_referrer",
        "page_url",
        "referrer",
        "therapies",
        "conditions",
        "utm",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "consent_text",
    }
)
# Every set of the scopes that touch leads or webhooks a key can hold (a key holds at least
# one): 15 keys; and a reviewer's key alone and with every scope (`content:review` opens no
# lead data, so its other 15 combinations say nothing new).
_LEAD_SIDE = [s for s in SCOPES if s != CONTENT_REVIEW]
SCOPE_SETS = [
    *(
        frozenset(combo)
        for n in range(1, len(_LEAD_SIDE) + 1)
        for combo in itertools.combinations(_LEAD_SIDE, n)
    ),
    frozenset({CONTENT_REVIEW}),
    frozenset(SCOPES),
]


@dataclass(frozen=True)
class Case:
    """One admin operation: the scope it needs, and whether its answer is a lead's data."""

    method: str
    path: str  # {lead}, {endpoint} and {delivery} are filled per case
    scope: str | tuple[str, ...]  # a key needs one of these
    reads_leads: bool = False
    body: dict[str, Any] | None = None


OPERATIONS: dict[str, Case] = {
    "list_consultation_requests": Case("GET", LEADS, "leads:read", reads_leads=True),
    "export_consultation_requests": Case(
        "GET", f"{LEADS}/export.csv", "leads:read", reads_leads=True
    ),
    "get_consultation_request": Case("GET", f"{LEADS}/{{lead}}", "leads:read", reads_leads=True),
    "update_consultation_request": Case(
        "PATCH", f"{LEADS}/{{lead}}", "leads:write", reads_leads=True, body={}
    ),
    "erase_consultation_request": Case("DELETE", f"{LEADS}/{{lead}}", "leads:write"),
    "list_audit_entries": Case("GET", "/v1/admin/audit?lead_id={lead}", "leads:read"),
    "create_preview": Case(
        "POST", "/v1/admin/previews", "content:write", body={"slug": "ketamine-for-chronic-pain"}
    ),
    "list_reviewers": Case("GET", "/v1/admin/reviewers", ("content:write", "content:review")),
    "list_webhook_endpoints": Case("GET", HOOKS, "webhooks:manage"),
    "create_webhook_endpoint": Case(
        "POST",
        HOOKS,
        "webhooks:manage",
        body={"url": "http://127.0.0.1:9/crm", "payload_mode": "thin"},
    ),
    "get_webhook_endpoint": Case("GET", f"{HOOKS}/{{endpoint}}", "webhooks:manage"),
    "update_webhook_endpoint": Case(
        "PATCH", f"{HOOKS}/{{endpoint}}", "webhooks:manage", body={"description": "CRM"}
    ),
    "delete_webhook_endpoint": Case("DELETE", f"{HOOKS}/{{endpoint}}", "webhooks:manage"),
    "pause_webhook_endpoint": Case("POST", f"{HOOKS}/{{endpoint}}/pause", "webhooks:manage"),
    "resume_webhook_endpoint": Case("POST", f"{HOOKS}/{{endpoint}}/resume", "webhooks:manage"),
    "rotate_webhook_secret": Case("POST", f"{HOOKS}/{{endpoint}}/rotate-secret", "webhooks:manage"),
    "test_webhook_endpoint": Case("POST", f"{HOOKS}/{{endpoint}}/test", "webhooks:manage"),
    "list_webhook_deliveries": Case("GET", f"{HOOKS}/{{endpoint}}/deliveries", "webhooks:manage"),
    "redeliver_webhook": Case(
        "POST", "/v1/admin/webhook-deliveries/{delivery}/redeliver", "webhooks:manage"
    ),
}


def _records(response: Response) -> Iterator[dict[str, Any]]:
    """Every object in a JSON answer, or every row of a CSV one."""
    if response.headers.get("content-type", "").startswith("text/csv"):
        yield from csv.DictReader(io.StringIO(response.text))
        return
    if not response.content:
        return
    stack = [response.json()]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def personal_fields(response: Response, markers: dict[str, str]) -> set[str]:
    """The personal fields an answer carries: named with a value, or found as marked text."""
    named = {
        key
        for record in _records(response)
        for key, value in record.items()
        if key in PERSONAL and value not in (None, "", [], {})
    }
    return named | {field for field, marker in markers.items() if marker in response.text}


def _accepted(case: Case) -> tuple[str, ...]:
    return (case.scope,) if isinstance(case.scope, str) else case.scope


@pytest.fixture
def key_for(issue_key, add_reviewer) -> Callable[..., str]:
    """A key with these scopes (bound to a reviewer when it reviews)."""
    reviewer = add_reviewer("Scope Reviewer")

    def factory(*scopes: str, name: str = "case") -> str:
        bound = reviewer if CONTENT_REVIEW in scopes else None
        return str(issue_key(*sorted(scopes), name=name, reviewer=bound))

    return factory


@pytest.fixture
def world(make_client, key_for) -> tuple[TestClient, Callable[[], dict[str, str]]]:
    """A client, and a maker of one case's lead, endpoint and delivery (set up by a key that
    holds every scope)."""
    c = make_client(leads_rate_limit="none", webhook_dispatcher_enabled=False)
    admin = {"Authorization": f"Bearer {key_for(*SCOPES, name='setup')}"}

    def make() -> dict[str, str]:
        n = uuid.uuid4().hex[:10]
        hook = c.post(
            HOOKS,
            json={
                "url": "http://127.0.0.1:9/crm",
                "payload_mode": "full",
                "include_health_data": True,
            },
            headers=admin,
        )
        assert hook.status_code == 201, hook.text
        markers = {
            "first_name": f"Zoe{n}",
            "last_name": f"Quill{n}",
            "email": f"z.{n}@example.com",
            "message": f"Nightmares since the flood {n}.",
            "user_agent": f"Browser/{n}",
            "source_page_url": f"https://www.clinic.example/p/{n}",
            "utm_campaign": f"camp{n}",
        }
        body = lead_body(
            first_name=markers["first_name"],
            last_name=markers["last_name"],
            email=markers["email"],
            message=markers["message"],
            conditions=["ptsd", "anxiety"],
            source={
                "article_slug": "iv-ketamine-for-ptsd",
                "page_url": markers["source_page_url"],
                "utm_campaign": markers["utm_campaign"],
            },
        )
        lead = c.post(
            "/v1/consultation-requests", json=body, headers={"User-Agent": markers["user_agent"]}
        )
        assert lead.status_code == 201, lead.text
        endpoint = hook.json()["id"]
        deliveries = c.get(f"{HOOKS}/{endpoint}/deliveries", headers=admin).json()["data"]
        assert deliveries, "the lead made a delivery to the endpoint"
        return {
            "lead": lead.json()["id"],
            "endpoint": endpoint,
            "delivery": deliveries[0]["id"],
            **{f"marker:{k}": v for k, v in markers.items()},
        }

    return c, make


def test_the_table_names_every_admin_operation(client):
    spec = client.get("/openapi.json").json()
    admin = {
        op["operationId"]
        for path, ops in spec["paths"].items()
        # The editorial operations carry no lead data; tests/api/test_editorial.py holds
        # their scope table (EDITORIAL_SCOPES) and checks it the same way.
        if path.startswith("/v1/admin/")
        and not path.startswith(("/v1/admin/articles", "/v1/admin/media"))
        for op in ops.values()
        if isinstance(op, dict) and "operationId" in op
    }
    assert admin == set(OPERATIONS), "add the new admin operation to OPERATIONS"
    for name, case in OPERATIONS.items():
        (op,) = (
            o
            for o in spec["paths"][
                case.path.split("?")[0]
                .replace("{lead}", "{lead_id}")
                .replace("{endpoint}", "{endpoint_id}")
                .replace("{delivery}", "{delivery_id}")
            ].values()
            if o.get("operationId") == name
        )
        assert op["security"] == [{"ApiKey": list(_accepted(case))}]


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_an_answer_carries_personal_data_only_to_a_key_that_reads_leads(name, world, key_for):
    c, make = world
    case = OPERATIONS[name]
    seen: dict[frozenset[str], tuple[int, set[str]]] = {}
    for scopes in SCOPE_SETS:
        ids = make()
        markers = {k.removeprefix("marker:"): v for k, v in ids.items() if k.startswith("marker:")}
        token = key_for(*scopes)
        r = c.request(
            case.method,
            case.path.format(**ids),
            json=case.body,
            headers={"Authorization": f"Bearer {token}"},
        )
        seen[scopes] = (r.status_code, personal_fields(r, markers))
    for scopes, (status, fields) in seen.items():
        label = f"{name} with {sorted(scopes)}"
        if scopes.isdisjoint(_accepted(case)):
            assert status == 403, label
            assert fields == set(), label
            continue
        assert 200 <= status < 300, label
        if case.reads_leads and "leads:read" in scopes:
            assert {"first_name", "email", "message", "conditions"} <= fields, label
        else:
            assert fields == set(), f"{label} answered {sorted(fields)}"


def test_the_audit_says_whether_an_update_returned_personal_data(world, issue_key, seeded):
    c, make = world
    writer = {"Authorization": f"Bearer {issue_key('leads:write')}"}
    staff = {"Authorization": f"Bearer {issue_key('leads:write', 'leads:read')}"}
    lead = make()["lead"]
    thin = c.patch(f"{LEADS}/{lead}", json={"status": "contacted"}, headers=writer)
    assert thin.status_code == 200
    assert thin.json() == {
        "view": "state",
        "id": lead,
        "status": "contacted",
        "created_at": thin.json()["created_at"],
        "updated_at": thin.json()["updated_at"],
        "erased_at": None,
    }
    full = c.patch(f"{LEADS}/{lead}", json={}, headers=staff)
    assert full.status_code == 200 and full.json()["view"] == "staff"
    engine = seeded.engine()
    try:
        with Session(engine) as s:
            entries = s.exec(
                select(AuditEntry)
                .where(col(AuditEntry.lead_id) == uuid.UUID(lead))
                .where(col(AuditEntry.action) == "lead.update")
                .order_by(col(AuditEntry.id))
            ).all()
        details = [json.loads(json.dumps(e.detail)) for e in entries]
    finally:
        engine.dispose()
    assert [d["personal_data_returned"] for d in details] == [False, True]
