"""NUL, control characters, lone surrogates and over-long values in every string a request can
carry: each body field of each request model, each query, path and header parameter the
OpenAPI document names, and the headers routes read themselves. No answer may be a 5xx, and
nothing may fail after a response started (a streamed CSV).

Driven by the OpenAPI document: an operation or a body field without a base value here fails
the test, so a new route or field cannot go unfuzzed."""

import io
import json
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from PIL import Image
from standardwebhooks import Webhook

from tests.conftest import CRM_SECRET, lead_body
from tests.editorial_helpers import article_body

BAD_VALUES = [
    "\x00",
    "a\x00b",
    "\x01",
    "a\x1b[2Jb",
    "a\x7fb",
    "a\x85b",
    "a\u2028b",
    "a\u202eb",
    "\ud800",
    "x" * 5000,
]
# Header values travel as bytes (latin-1 in Starlette); a server passes them on as they came.
BAD_HEADER_VALUES = [b"\x00", b"a\x01\x7fb", b"\xe9\xff", b"x" * 5000]
# Headers that routes read without declaring them as parameters.
RAW_HEADERS = [
    "authorization",
    "user-agent",
    "x-forwarded-for",
    "content-type",
    "if-none-match",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
]


def _base_bodies(ids: dict[str, str]) -> dict[str, dict[str, Any]]:
    """A valid body for each operation that takes one, with every string field present."""
    lead = lead_body(
        consent={"contact": True, "sms": False, "consent_version": "2026-11-01", "locale": "en"},
        source={
            "article_slug": "iv-ketamine-for-ptsd",
            "locale": "en",
            "page_url": "https://www.clinic.example/ptsd",
            "referrer": "https://search.example/",
            "utm_source": "s",
            "utm_medium": "m",
            "utm_campaign": "c",
            "utm_term": "t",
            "utm_content": "x",
            "channel": "web",
            "disclaimers_shown": [{"key": "risks-and-benefits", "version": 1}],
        },
    )
    endpoint = {
        "url": "http://127.0.0.1:9/hook",
        "description": "CRM",
        "event_types": ["consultation_request.created"],
        "payload_mode": "full",
        "include_health_data": False,
    }
    article = article_body(
        translation_of="nad-plus-iv-therapy",
        locale="es",
        conditions=["ptsd"],
        hero_media_id=ids["media_id"],
        seo={
            "meta_title": "T",
            "meta_description": "D",
            "canonical_url": "https://clinic.example/a",
        },
    )
    article["references"][0].update(
        pmid="31572171", url="https://example.org/a", accessed="2026-12-07"
    )
    return {
        "create_consultation_request": lead,
        "update_consultation_request": {"status": "contacted", "notes": "Called."},
        "create_webhook_endpoint": endpoint,
        "update_webhook_endpoint": endpoint,
        "create_preview": {"slug": "ketamine-for-chronic-pain", "locale": "en", "expires_in": 600},
        "create_article": article,
        "update_article": article,
        "approve_article_revision": {
            "next_review_due": "2027-06-01",
            "note": "Checked.",
            "role": "medical",
        },
        "reject_article_revision": {"note": "Cite the safety claim.", "role": "medical"},
        "publish_article": {"revision": 1, "at": "2030-01-01T00:00:00Z"},
        "receive_crm_event": {
            "type": "consultation_request.status_changed",
            "timestamp": datetime.now(UTC).isoformat(),
            "data": {"id": ids["lead_id"], "status": "contacted", "note": "Called."},
        },
    }


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    options = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
    return _resolve(spec, options[0]) if options else schema


def _schema_strings(spec: dict[str, Any], schema: dict[str, Any], path: str = "") -> set[str]:
    """Dotted paths of every string field a request body schema allows."""
    schema = _resolve(spec, schema)
    if schema.get("type") == "object" or "properties" in schema:
        return {
            found
            for name, sub in schema.get("properties", {}).items()
            for found in _schema_strings(spec, sub, f"{path}.{name}" if path else name)
        }
    if schema.get("type") == "array":
        return _schema_strings(spec, schema["items"], f"{path}.0")
    return {path} if schema.get("type") == "string" or "enum" in schema else set()


def _leaves(value: Any, path: str = "") -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, f"{path}.{k}" if path else k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, f"{path}.{i}")
    elif isinstance(value, str):
        yield path


def _replaced(body: Any, path: str, new: str) -> Any:
    copy = json.loads(json.dumps(body))
    *parents, last = path.split(".")
    target = copy
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    target[int(last) if isinstance(target, list) else last] = new
    return copy


def _q(value: str) -> str:
    """Percent-encoded; a lone surrogate becomes the (invalid UTF-8) bytes a client could send."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def _path_values(path: str, ids: dict[str, str]) -> dict[str, str]:
    slug = {"/v1/therapies/": "iv-ketamine", "/v1/conditions/": "ptsd"}
    return {
        "slug": next((v for k, v in slug.items() if path.startswith(k)), "iv-ketamine-for-ptsd"),
        **ids,
    }


def _signed(body: str, headers: dict[str, Any]) -> dict[str, Any]:
    """Sign as the CRM would, over whatever webhook-id the case carries."""
    msg_id = headers.get("webhook-id", f"crm-{uuid.uuid4()}")
    text_id = msg_id.decode("latin-1") if isinstance(msg_id, bytes) else msg_id
    now = datetime.now(UTC)
    signed = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(CRM_SECRET).sign(text_id, now, body),
    }
    return {**signed, **headers}


class Fuzzer:
    """Sends one operation with one value replaced, and records any 5xx."""

    def __init__(self, client, staff: dict[str, str], ids: dict[str, str]) -> None:
        self.client = client
        self.staff = staff
        self.ids = ids
        self.failures: list[str] = []
        self.sent = 0

    def send(
        self,
        op: dict[str, Any],
        *,
        path_values: dict[str, str],
        query: dict[str, str] | None = None,
        headers: dict[str, Any] | None = None,
        body: Any = None,
        label: str,
    ) -> None:
        url = op["path"]
        for name, value in path_values.items():
            url = url.replace("{" + name + "}", _q(value))
        if query:
            url += "?" + "&".join(f"{_q(k)}={_q(v)}" for k, v in query.items())
        sent_headers: dict[str, Any] = {"content-type": "application/json"}
        if url.startswith("/v1/admin/"):
            sent_headers["authorization"] = self.staff["Authorization"]
        sent_headers |= headers or {}
        content = None
        if body is not None:
            # json.dumps escapes lone surrogates as a client may send them (httpx cannot).
            content = json.dumps(body)
            if op["operationId"] == "receive_crm_event":
                sent_headers = _signed(content, sent_headers)
        response = self.client.request(op["method"], url, content=content, headers=sent_headers)
        self.sent += 1
        problem = response.headers.get("content-type", "").startswith("application/problem+json")
        if response.status_code >= 500 or (response.status_code >= 400 and not problem):
            self.failures.append(f"{op['operationId']} {label}: {response.status_code}")


def _operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {**op, "path": path, "method": method.upper()}
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
    ]


def _fuzz_operation(fuzzer: Fuzzer, spec: dict[str, Any], op: dict[str, Any]) -> None:
    bodies = _base_bodies(fuzzer.ids)
    path_values = _path_values(op["path"], fuzzer.ids)
    body_schema = op.get("requestBody", {}).get("content", {}).get("application/json")
    base = bodies.get(op["operationId"]) if body_schema else None
    if body_schema:
        assert base is not None, f"no base body for {op['operationId']}"
        missing = _schema_strings(spec, body_schema["schema"]) - set(_leaves(base))
        assert not missing, f"{op['operationId']}: base body lacks {sorted(missing)}"
        for leaf in _leaves(base):
            for bad in BAD_VALUES:
                fuzzer.send(
                    op,
                    path_values=path_values,
                    body=_replaced(base, leaf, bad),
                    label=f"body.{leaf}={bad[:12]!r}",
                )
    for param in op.get("parameters", []):
        if "$ref" in param:  # shared parameters (If-None-Match, the signature headers)
            param = spec["components"]["parameters"][param["$ref"].rsplit("/", 1)[-1]]
        for bad in BAD_VALUES:
            where, name = param["in"], param["name"]
            if where == "path":
                values = {**path_values, name: bad}
                fuzzer.send(op, path_values=values, body=base, label=f"path.{name}")
            elif where == "query":
                fuzzer.send(
                    op, path_values=path_values, query={name: bad}, body=base, label=f"query.{name}"
                )
        if param["in"] == "header":
            for raw in BAD_HEADER_VALUES:
                fuzzer.send(
                    op,
                    path_values=path_values,
                    headers={param["name"]: raw},
                    body=base,
                    label=f"header.{param['name']}",
                )
    for header in RAW_HEADERS:
        for raw in BAD_HEADER_VALUES:
            fuzzer.send(op, path_values=path_values, headers={header: raw}, body=base, label=header)


def _resources(c, staff: dict[str, str]) -> dict[str, str]:
    """A lead, an endpoint and a delivery for the operations that act on one."""
    lead_id = c.post("/v1/consultation-requests", json=lead_body()).json()["id"]
    endpoint = c.post(
        "/v1/admin/webhook-endpoints", json={"url": "http://127.0.0.1:9/hook"}, headers=staff
    ).json()["id"]
    delivery = c.post(f"/v1/admin/webhook-endpoints/{endpoint}/test", headers=staff).json()["id"]
    article = c.get("/v1/articles/iv-ketamine-for-ptsd").json()
    image = io.BytesIO()
    Image.new("RGB", (40, 30)).save(image, "PNG")
    media = c.post(
        "/v1/admin/media",
        files={"file": ("a.png", image.getvalue(), "image/png")},
        data={"alt": "A"},
        headers=staff,
    ).json()["id"]
    draft = c.post("/v1/admin/articles", json=article_body(), headers=staff).json()["id"]
    return {
        "lead_id": lead_id,
        "endpoint_id": endpoint,
        "delivery_id": delivery,
        "key": article["sections"][0]["key"],
        "media_id": media,
        "article_id": draft,
        "revision": "1",
    }


def test_no_string_anywhere_in_a_request_yields_a_server_error(
    make_client, issue_key, add_reviewer, caplog
):
    c = make_client(
        peer="10.0.0.1",  # a trusted proxy, so X-Forwarded-For is parsed rather than ignored
        trusted_proxies=["10.0.0.0/8"],
        leads_rate_limit="none",
        webhook_dispatcher_enabled=False,
        webhook_allow_private_urls=True,  # no DNS look-ups for fuzzed hosts
    )
    token = issue_key(
        "leads:read", "leads:write", "webhooks:manage", "content:write", "content:review",
        reviewer=add_reviewer("Fuzz Reviewer"),
    )  # fmt: skip
    staff = {"Authorization": f"Bearer {token}"}
    fuzzer = Fuzzer(c, staff, _resources(c, staff))
    spec = c.get("/openapi.json").json()
    operations = _operations(spec)
    with caplog.at_level(logging.ERROR, logger="clinic"):
        for op in operations:
            _fuzz_operation(fuzzer, spec, op)
    assert len(operations) >= 29 and fuzzer.sent > 1000
    assert not fuzzer.failures, "\n".join(fuzzer.failures)
    unhandled = [r.getMessage() for r in caplog.records if "unhandled" in r.getMessage()]
    assert not unhandled, unhandled  # e.g. a stream that failed after its 200 was sent


@pytest.mark.parametrize("bad", ["\x00", "\ud800"])
def test_the_fuzzer_sees_what_it_sends(make_client, bad):
    """The cases reach the app as sent: a NUL in a name is refused by name, not by transport."""
    c = make_client(leads_rate_limit="none", webhook_dispatcher_enabled=False)
    body = json.dumps(lead_body(first_name=f"A{bad}"))
    r = c.post(
        "/v1/consultation-requests", content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["body.first_name"]
