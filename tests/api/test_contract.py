"""The OpenAPI document as generators and linters read it: security, headers, named types,
request schemas without defaults, the webhooks section, and a server that refuses exactly what
the schema refuses."""

import re
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from types import SimpleNamespace

import pytest
from pydantic import BaseModel, ValidationError

from api.openapi_webhooks import examples
from schemas import vocabulary
from schemas.events import (
    ArticleEvent,
    ArticleEventThin,
    LeadEvent,
    LeadEventThin,
    PingEvent,
)
from schemas.vocabulary import PING_EVENT, EventType, PayloadMode
from services.content.events import article_data
from services.leads.events import erased_data, lead_data
from services.leads.vault import Personal
from services.webhooks.payloads import render
from tests.conftest import lead_body

BASE = "/v1/admin/consultation-requests"
HOOKS = "/v1/admin/webhook-endpoints"
METHODS = {"get", "put", "post", "delete", "patch"}


@pytest.fixture(scope="module")
def spec(client):
    return client.get("/openapi.json").json()


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield path, method, op


def _param_names(spec, op) -> set[str]:
    names = set()
    for param in op.get("parameters", []):
        if "$ref" in param:
            param = spec["components"]["parameters"][param["$ref"].rsplit("/", 1)[-1]]
        names.add(param["name"])
    return names


def test_info_servers_license_and_contact(spec):
    assert spec["openapi"].startswith("3.1")
    assert spec["servers"] and spec["servers"][0]["url"]
    assert spec["info"]["license"]["name"] and spec["info"]["contact"]


def test_public_operations_need_no_key_and_admin_ones_name_their_scope(spec):
    scopes = {}
    for path, _, op in _operations(spec):
        if path.startswith("/v1/admin/"):
            [requirement] = op["security"]
            accepted = requirement["ApiKey"]  # any one of them
            for scope in accepted:
                assert f"`{scope}`" in op["description"], op["operationId"]
            scopes[op["operationId"]] = " or ".join(accepted)
        else:
            assert op["security"] == [], op["operationId"]
    assert scopes["list_consultation_requests"] == "leads:read"
    assert scopes["erase_consultation_request"] == "leads:write"
    assert scopes["create_webhook_endpoint"] == "webhooks:manage"
    assert scopes["list_reviewers"] == "content:write or content:review"


def test_cached_reads_document_their_headers_and_if_none_match(spec):
    cached = [op for _, _, op in _operations(spec) if "304" in op["responses"]]
    assert len(cached) >= 9
    for op in cached:
        assert "If-None-Match" in _param_names(spec, op)
        for status in ("200", "304"):
            headers = op["responses"][status]["headers"]
            assert headers["ETag"]["required"] and headers["Cache-Control"]["required"]
            assert "Vary" in headers


def test_lead_intake_documents_location_replay_and_rate_limit_headers(spec):
    op = spec["paths"]["/v1/consultation-requests"]["post"]
    assert "Idempotency-Key" in _param_names(spec, op)
    created = op["responses"]["201"]["headers"]
    assert created["Location"]["required"]
    assert {"Idempotent-Replayed", "RateLimit-Limit", "RateLimit-Remaining"} <= set(created)
    assert op["responses"]["429"]["headers"]["Retry-After"]["required"]
    assert "400" in op["responses"]  # a body that is not JSON text


def test_crm_inbound_documents_the_signature_headers(spec):
    op = spec["paths"]["/v1/integrations/crm/events"]["post"]
    assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= _param_names(spec, op)


def _enums_in(node, path=""):
    if isinstance(node, dict):
        if "enum" in node:
            yield path
        for key, value in node.items():
            yield from _enums_in(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _enums_in(value, f"{path}/{i}")


def test_each_enum_is_one_named_component(spec):
    schemas = spec["components"]["schemas"]
    inline = [
        p
        for p in _enums_in({"paths": spec["paths"], "components": spec["components"]})
        if not re.fullmatch(r"/components/schemas/[A-Za-z]+", p)
    ]
    assert inline == []
    enums = {name for name, schema in schemas.items() if "enum" in schema}
    values = [tuple(schemas[name]["enum"]) for name in enums]
    assert len(values) == len(set(values))  # no enum twice under two names
    vocab = {
        name
        for name, obj in vars(vocabulary).items()
        if isinstance(obj, type) and issubclass(obj, StrEnum) and obj is not StrEnum
    }
    assert {"LeadStatus", "Channel", "PayloadMode", "DeliveryStatus", "SectionKind"} <= enums
    assert enums <= vocab
    for name in schemas:
        assert re.fullmatch(r"[A-Z][A-Za-z]+", name), name  # no Generic_Names_ or -Input


def _reachable(spec, node, seen=None):
    seen = set() if seen is None else seen
    if isinstance(node, dict):
        yield node
        ref = node.get("$ref", "")
        if ref.startswith("#/components/schemas/") and ref not in seen:
            seen.add(ref)
            yield from _reachable(spec, spec["components"]["schemas"][ref.rsplit("/", 1)[-1]], seen)
        for value in node.values():
            yield from _reachable(spec, value, seen)
    elif isinstance(node, list):
        for value in node:
            yield from _reachable(spec, value, seen)


def test_request_schemas_and_parameters_carry_no_default(spec):
    for _, _, op in _operations(spec):
        body = op.get("requestBody", {})
        for node in _reachable(spec, body):
            assert "default" not in node, op["operationId"]
        for param in op.get("parameters", []):
            assert "default" not in param.get("schema", {}), op["operationId"]
    consent = spec["components"]["schemas"]["ConsentIn"]
    assert "sms" not in consent["required"]
    assert "Default: `false`" in consent["properties"]["sms"]["description"]


def test_webhooks_list_every_event_with_headers_and_both_payload_modes(spec):
    hooks = spec["webhooks"]
    assert set(hooks) == {*map(str, EventType), PING_EVENT}
    for event_type, item in hooks.items():
        op = item["post"]
        assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= _param_names(spec, op)
        media = op["requestBody"]["content"]["application/json"]
        assert set(media["examples"]) == {"full", "thin"}
        for example in media["examples"].values():
            assert example["value"]["type"] == event_type
        if event_type != PING_EVENT:
            refs = {branch["$ref"].rsplit("/", 1)[-1] for branch in media["schema"]["anyOf"]}
            assert len(refs) == 2 and all(r in spec["components"]["schemas"] for r in refs)


def _models(event_type: str) -> tuple[type[BaseModel], type[BaseModel]]:
    if event_type == PING_EVENT:
        return PingEvent, PingEvent
    if event_type.startswith("consultation_request."):
        return LeadEvent, LeadEventThin
    return ArticleEvent, ArticleEventThin


@pytest.mark.parametrize("event_type", [*map(str, EventType), PING_EVENT])
def test_webhook_examples_validate_against_their_models(event_type):
    full, thin = _models(event_type)
    bodies = examples(event_type)
    full.model_validate(bodies["full"])
    thin.model_validate(bodies["thin"])
    if event_type != PING_EVENT:
        with pytest.raises(ValidationError):
            thin.model_validate(bodies["full"])  # the two modes never both match


def _links(event_type, data):
    return {"self": f"https://api.example/{data.get('id')}"}


def _lead():
    now = datetime.now(UTC)
    lead = SimpleNamespace(
        id=uuid.uuid4(),
        status="new",
        created_at=now,
        updated_at=now,
        erased_at=None,
        preferred_contact_method="phone",
        consent_contact=True,
        consent_sms=False,
        consent_version="2026-12-07",
        consent_age_confirmed=True,
        channel="web",
        utm={"utm_source": "newsletter"},
        therapies=["iv-ketamine"],
        conditions=["ptsd"],
        source_article_slug="iv-ketamine-for-ptsd",
    )
    personal = Personal(
        first_name="Ana",
        last_name="Diaz",
        email="ana@example.com",
        phone="+14155550132",
        preferred_time=None,
        message="Hello",
        notes=None,
        client_ip=None,
        user_agent=None,
        page_url="https://www.clinic.example/ptsd",
        referrer=None,
    )
    return lead, personal


def _article():
    return SimpleNamespace(
        id=uuid.uuid4(),
        slug="iv-ketamine-for-ptsd",
        locale="en",
        title="IV ketamine for PTSD",
        status="published",
        revision=2,
        published_at=datetime.now(UTC),
        updated_at=datetime.now(UTC),
    )


def _envelope(event_type, data, mode, health):
    rendered = render(event_type, data, mode=mode, health=health, links=_links)
    return {"type": event_type, "timestamp": datetime.now(UTC).isoformat(), "data": rendered}


@pytest.mark.parametrize("health", [False, True])
def test_rendered_payloads_validate_against_the_documented_models(health):
    lead, personal = _lead()
    stored = lead_data(vars(lead), personal)
    for event_type in (
        EventType.CONSULTATION_REQUEST_CREATED,
        EventType.CONSULTATION_REQUEST_UPDATED,
    ):
        LeadEvent.model_validate(_envelope(event_type, stored, PayloadMode.FULL, health))
        LeadEventThin.model_validate(_envelope(event_type, stored, PayloadMode.THIN, health))
        erased = erased_data(str(lead.id))
        LeadEvent.model_validate(_envelope(event_type, erased, PayloadMode.FULL, health))
        LeadEventThin.model_validate(_envelope(event_type, erased, PayloadMode.THIN, health))
    article = _article()
    for event_type in (EventType.ARTICLE_PUBLISHED, EventType.ARTICLE_UNPUBLISHED):
        data = article_data(article)
        ArticleEvent.model_validate(_envelope(event_type, data, PayloadMode.FULL, health))
        ArticleEventThin.model_validate(_envelope(event_type, data, PayloadMode.THIN, health))
    ping = {"message": "ping"}
    PingEvent.model_validate(_envelope(PING_EVENT, ping, PayloadMode.FULL, health))
    PingEvent.model_validate(_envelope(PING_EVENT, ping, PayloadMode.THIN, health))


def test_options_on_admin_routes_names_every_documented_method(make_client, issue_key):
    c = make_client()
    staff = {"Authorization": f"Bearer {issue_key('leads:read', 'webhooks:manage')}"}
    expected = {
        f"{BASE}/{uuid.uuid4()}": {"GET", "HEAD", "PATCH", "DELETE"},
        HOOKS: {"GET", "HEAD", "POST"},
        f"{HOOKS}/{uuid.uuid4()}": {"GET", "HEAD", "PATCH", "DELETE"},
        f"{BASE}/export.csv": {"GET", "HEAD"},
    }
    for path, methods in expected.items():
        r = c.options(path, headers=staff)
        assert r.status_code == 405, path
        assert {m.strip() for m in r.headers["allow"].split(",")} == methods, path
        assert r.headers["content-type"] == "application/problem+json"


def test_booleans_and_integers_are_strict(make_client, issue_key):
    c = make_client(leads_rate_limit="none", webhook_allow_private_urls=True)
    consent = {"contact": True, "sms": 0, "age_confirmed": True, "consent_version": "2026-12-07"}
    r = c.post("/v1/consultation-requests", json=lead_body(consent=consent))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.consent.sms"
    source = {"disclaimers_shown": [{"key": "fda-off-label", "version": "1"}]}
    r = c.post("/v1/consultation-requests", json=lead_body(source=source))
    assert r.status_code == 422, r.text
    manager = {"Authorization": f"Bearer {issue_key('webhooks:manage', 'leads:read')}"}
    body = {"url": "https://crm.example/hook", "include_health_data": 0}
    r = c.post(HOOKS, json=body, headers=manager)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.include_health_data"
    assert c.post("/v1/consultation-requests", json=lead_body()).status_code == 201


@pytest.mark.parametrize("value", ["0.5", "1700000000", "2026-01-01", "2026-01-01T00:00:00"])
def test_times_in_filters_must_be_iso_with_a_zone(make_client, issue_key, value):
    c = make_client()
    reader = {"Authorization": f"Bearer {issue_key('leads:read')}"}
    for path in (BASE, f"{BASE}/export.csv"):
        r = c.get(path, params={"created_before": value}, headers=reader)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.created_before"
    r = c.get(
        f"{BASE}/export.csv", params={"created_before": "2026-01-01T00:00:00Z"}, headers=reader
    )
    assert r.status_code == 200


def test_the_schema_states_what_the_server_refuses(spec, make_client, issue_key):
    schemas = spec["components"]["schemas"]
    version = schemas["ConsentIn"]["properties"]["consent_version"]
    assert version["minLength"] == 1 and re.search(version["pattern"], "2026-11-01")
    assert not re.search(version["pattern"], "   ")
    name = schemas["ConsultationRequestCreate"]["properties"]["first_name"]["pattern"]
    assert (
        re.search(name, "Ana") and not re.search(name, "A\u202ena") and not re.search(name, "A\x00")
    )
    url = schemas["WebhookEndpointCreate"]["properties"]["url"]["pattern"]
    assert re.search(url, "https://crm.example/hook") and not re.search(url, "https://a*b/")
    cursor = next(p for p in spec["paths"][BASE]["get"]["parameters"] if p.get("name") == "cursor")
    c = make_client(leads_rate_limit="none")
    reader = {"Authorization": f"Bearer {issue_key('leads:read')}"}
    c.post("/v1/consultation-requests", json=lead_body())
    # Every cursor of the documented form is a position; any other is refused.
    well_formed = "0." + "0" * 32
    assert re.fullmatch(cursor["schema"]["pattern"], well_formed)
    assert c.get(BASE, params={"cursor": well_formed}, headers=reader).status_code == 200
    assert c.get(BASE, params={"cursor": "1." + "f" * 32}, headers=reader).status_code == 200
    assert c.get(BASE, params={"cursor": "x"}, headers=reader).status_code == 422
    body = lead_body(consent={"contact": True, "age_confirmed": True, "consent_version": " "})
    r = c.post("/v1/consultation-requests", json=body)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.consent.consent_version"


def test_a_body_that_is_not_json_text_is_a_documented_400(spec, make_client):
    c = make_client(leads_rate_limit="none")
    r = c.post(
        "/v1/consultation-requests",
        content=b"\x80 not utf-8",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
    assert "400" in spec["paths"]["/v1/consultation-requests"]["post"]["responses"]


def test_webhook_urls_need_a_host_name_or_an_address(make_client, issue_key):
    c = make_client(webhook_allow_private_urls=True)
    manager = {"Authorization": f"Bearer {issue_key('webhooks:manage', 'leads:read')}"}
    for url in ("http://a*b/", "http://a..b/", "http://-x/"):
        r = c.post(HOOKS, json={"url": url}, headers=manager)
        assert r.status_code == 422, url
    for url in ("http://127.0.0.1:9/x", "http://[::1]:9/x", "https://xn--bcher-kva.example/"):
        assert c.post(HOOKS, json={"url": url}, headers=manager).status_code == 201, url
