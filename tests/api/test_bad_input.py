"""Bad input is a 4xx problem naming the field, never a 5xx: NUL and control characters,
over-long values, naive datetimes, and URLs that are not web pages."""

import gzip
import json
import uuid
from datetime import UTC, datetime

import orjson
import pytest
from standardwebhooks import Webhook

from tests.conftest import CRM_SECRET, lead_body
from tests.editorial_helpers import ARTICLES, article_body

LEADS = "/v1/consultation-requests"
ADMIN_LEADS = "/v1/admin/consultation-requests"
HOOKS = "/v1/admin/webhook-endpoints"
CRM = "/v1/integrations/crm/events"


def _problem(response, status: int, *fields: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    if fields:
        assert sorted(e["field"] for e in response.json()["errors"]) == sorted(fields)


@pytest.fixture
def c(make_client):
    return make_client(leads_rate_limit="none", webhook_dispatcher_enabled=False)


@pytest.fixture
def staff(issue_key):
    token = issue_key("leads:read", "leads:write", "webhooks:manage")
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("bad", ["2026-11-01\x00", "\x00", "2026\x01", "2026\u2028"])
def test_control_characters_in_the_consent_version(c, bad):
    consent = {"contact": True, "sms": False, "age_confirmed": True, "consent_version": bad}
    _problem(c.post(LEADS, json=lead_body(consent=consent)), 422, "body.consent.consent_version")


@pytest.mark.parametrize("field", ["description", "url"])
@pytest.mark.parametrize("bad", ["\x00", "\u0001", "\x7f", "\ud800"])
def test_control_characters_in_a_webhook_endpoint(c, staff, field, bad):
    body = {"url": "http://127.0.0.1:9/hook", "description": "CRM"}
    body[field] += bad
    # json.dumps writes a lone surrogate as the escape a client may send, which httpx cannot.
    headers = {**staff, "content-type": "application/json"}
    _problem(c.post(HOOKS, content=json.dumps(body), headers=headers), 422, f"body.{field}")
    made = c.post(HOOKS, json={"url": "http://127.0.0.1:9/hook"}, headers=staff)
    change = json.dumps({field: body[field]})
    patched = c.patch(f"{HOOKS}/{made.json()['id']}", content=change, headers=headers)
    _problem(patched, 422, f"body.{field}")


def _signed(body: str, msg_id: str) -> dict[str, str | bytes]:
    now = datetime.now(UTC)
    return {
        "webhook-id": msg_id.encode("latin-1"),  # as a server decodes header bytes
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(CRM_SECRET).sign(msg_id, now, body),
        "content-type": "application/json",
    }


def _crm_event(lead_id: str, note: str) -> str:
    data = {"id": lead_id, "status": "contacted", "note": note}
    return orjson.dumps({"type": "consultation_request.status_changed", "data": data}).decode()


@pytest.mark.parametrize("bad", ["Called\x00", "Called\x01", "\x1b[31mred"])
def test_control_characters_in_a_crm_note(c, bad):
    lead_id = c.post(LEADS, json=lead_body()).json()["id"]
    body = _crm_event(lead_id, bad)
    _problem(
        c.post(CRM, content=body, headers=_signed(body, f"crm-{uuid.uuid4()}")),
        422,
        "body.data.note",
    )
    fine = _crm_event(lead_id, "Called twice.\nLeft a message.")
    assert c.post(CRM, content=fine, headers=_signed(fine, "crm-ok")).status_code == 200


@pytest.mark.parametrize("msg_id", ["m" * 201, "m" * 400, "crm-\x01", "crm id"])
def test_a_webhook_id_the_database_cannot_hold(c, msg_id):
    lead_id = c.post(LEADS, json=lead_body()).json()["id"]
    body = _crm_event(lead_id, "Called")
    headers = _signed(body, msg_id)
    _problem(c.post(CRM, content=body, headers=headers), 422, "header.webhook-id")
    longest = _signed(body, "m" * 200)
    assert c.post(CRM, content=body, headers=longest).status_code == 200


def test_an_unsigned_request_is_refused_before_its_webhook_id_is_judged(c):
    body = _crm_event(str(uuid.uuid4()), "Called")
    headers = {**_signed(body, "m" * 400), "webhook-signature": "v1,AAAA"}
    _problem(c.post(CRM, content=body, headers=headers), 401)


@pytest.mark.parametrize("signature", ["nocomma", "\x00", "v1", ""])
def test_a_malformed_signature_is_a_401(c, signature):
    body = _crm_event(str(uuid.uuid4()), "Called")
    headers = {**_signed(body, "crm-sig"), "webhook-signature": signature}
    _problem(c.post(CRM, content=body, headers=headers), 401)


@pytest.mark.parametrize("param", ["created_after", "created_before"])
@pytest.mark.parametrize("path", [ADMIN_LEADS, f"{ADMIN_LEADS}/export.csv"])
def test_naive_datetimes_in_lead_filters(c, staff, param, path):
    _problem(c.get(f"{path}?{param}=2026-01-01T00:00:00", headers=staff), 422, f"query.{param}")
    aware = c.get(f"{path}?{param}=2026-01-01T00:00:00%2B02:00", headers=staff)
    assert aware.status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)//https://x",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox",
        "/relative/page",
        "//evil.example/x",
        "https://",
        "https://www.clinic.example/a b",
        "https://www.clinic.example/\u00e9",
        "ftp://files.example/x",
    ],
)
@pytest.mark.parametrize("field", ["page_url", "referrer"])
def test_source_urls_must_be_absolute_web_urls(c, field, url):
    source = {"article_slug": "iv-ketamine-for-ptsd", field: url}
    _problem(c.post(LEADS, json=lead_body(source=source)), 422, f"body.source.{field}")


def test_an_empty_referrer_means_none(c, staff):
    source = {"page_url": "https://www.clinic.example/p?x=%C3%A9|y", "referrer": ""}
    r = c.post(LEADS, json=lead_body(source=source))
    assert r.status_code == 201, r.text
    lead = c.get(f"{ADMIN_LEADS}/{r.json()['id']}", headers=staff).json()
    assert lead["source_referrer"] is None
    assert lead["source_page_url"] == "https://www.clinic.example/p?x=%C3%A9|y"


@pytest.mark.parametrize(
    "name",
    [
        "Ana\nDiaz",
        "Ana\rDiaz",
        "Ana\tDiaz",
        "Ana\u202eziaD",
        "\u202aAna",
        "Ana\u2066x\u2069",
        "A\u200bna",
        "A\u200dna",
        "A\u2060na",
        "\ufeffAna",
        "A\u2028na",
        "Ana\x00",
    ],
)
@pytest.mark.parametrize("field", ["first_name", "last_name"])
def test_names_refuse_invisible_and_reordering_characters(c, field, name):
    _problem(c.post(LEADS, json=lead_body(**{field: name})), 422, f"body.{field}")


def test_names_in_any_script_are_welcome(c):
    for first, last in (
        ("José", "Núñez-Ibáñez"),
        ("Zoë", "O'Brien"),
        ("أحمد", "علي"),
        ("美咲", "佐藤"),
    ):
        assert c.post(LEADS, json=lead_body(first_name=first, last_name=last)).status_code == 201


def test_a_user_agent_with_control_characters_is_stored_without_them(c, staff):
    r = c.post(LEADS, json=lead_body(), headers={"User-Agent": "Mozilla\x00/5.0\x01 (X)"})
    assert r.status_code == 201
    lead = c.get(f"{ADMIN_LEADS}/{r.json()['id']}", headers=staff).json()
    assert lead["user_agent"] == "Mozilla/5.0 (X)"


@pytest.mark.parametrize(
    "token", ["clk_\x00abc_x", "clk_ab\x01_x", "clk_" + "a" * 5000 + "_x", "\x00"]
)
def test_a_malformed_api_key_is_a_401(c, token):
    r = c.get(ADMIN_LEADS, headers={"Authorization": f"Bearer {token}"})
    _problem(r, 401)


@pytest.mark.parametrize("suffix", [".0", "e0", ".9"])
def test_a_crm_timestamp_that_is_not_whole_seconds_is_a_401(c, suffix):
    """The signing library reads the timestamp as a decimal number (so `<now>.0` verifies);
    Standard Webhooks sends whole seconds, and anything else is refused, never a 500."""
    lead_id = c.post(LEADS, json=lead_body()).json()["id"]
    body = _crm_event(lead_id, "Called")
    headers = _signed(body, f"crm-{uuid.uuid4()}")
    headers["webhook-timestamp"] = str(headers["webhook-timestamp"]) + suffix
    r = c.post(CRM, content=body, headers=headers)
    _problem(r, 401)
    assert r.json()["code"] == "invalid_webhook_signature"


_NOT_JSON = [b"{", b'{"first_name": "Ana"', b'{"a": 1} trailing', b"'single'"]


@pytest.mark.parametrize(
    ("path", "raw"),
    [*((LEADS, raw) for raw in [*_NOT_JSON, b"\xff\xfe{}"]), *((CRM, raw) for raw in _NOT_JSON)],
)
def test_a_body_that_is_not_json_text_is_a_400(c, path, raw):
    headers: dict[str, str | bytes] = {"Content-Type": "application/json"}
    if path == CRM:  # signed (the library signs text), so that the body itself is judged
        headers = {**_signed(raw.decode(), f"crm-{uuid.uuid4()}"), **headers}
    r = c.post(path, content=raw, headers=headers)
    _problem(r, 400)
    assert r.json()["code"] == "malformed_json" and "errors" not in r.json()


def test_a_body_that_is_not_utf8_text_is_a_400_and_counts_against_the_rate_limit(make_client):
    c = make_client(leads_rate_limit="1/minute")
    latin1 = json.dumps(lead_body(first_name="José"), ensure_ascii=False).encode("latin-1")
    r = c.post(LEADS, content=latin1, headers={"Content-Type": "application/json"})
    _problem(r, 400)
    assert r.json()["code"] == "malformed_json"
    refused = c.post(LEADS, content=latin1, headers={"Content-Type": "application/json"})
    _problem(refused, 429)
    # JSON in UTF-16, which JSON parsers recognise, is read (the README says so)
    open_client = make_client(leads_rate_limit="none")
    utf16 = json.dumps(lead_body()).encode("utf-16")
    assert (
        open_client.post(
            LEADS, content=utf16, headers={"Content-Type": "application/json"}
        ).status_code
        == 201
    )


@pytest.mark.parametrize("coding", ["gzip", "br", "GZIP", "deflate, gzip"])
def test_a_compressed_request_body_is_a_415_saying_to_send_it_plain(c, staff, coding):
    body = gzip.compress(orjson.dumps(lead_body()))
    headers = {"Content-Type": "application/json", "Content-Encoding": coding}
    for method, path, extra in (
        ("POST", LEADS, {}),
        ("POST", HOOKS, staff),
        ("PATCH", f"{ADMIN_LEADS}/{uuid.uuid4()}", staff),
    ):
        r = c.request(method, path, content=body, headers={**headers, **extra})
        _problem(r, 415)
        assert r.json()["code"] == "unsupported_content_encoding"
        assert r.headers["accept-encoding"] == "identity"
    plain = {"Content-Type": "application/json", "Content-Encoding": "identity"}
    assert c.post(LEADS, content=orjson.dumps(lead_body()), headers=plain).status_code == 201


def test_integers_are_whole_numbers_however_json_writes_them(make_client, issue_key):
    """Issue 26, item 8: JSON Schema counts `2.0` as an integer, so the server does too,
    wherever the contract says integer; a string or a boolean stays a 422."""
    c = make_client(leads_rate_limit="none")
    editor = {"Authorization": f"Bearer {issue_key('content:write')}"}

    def shown(version: object) -> int:
        shown = [{"key": "fda-off-label", "version": version}]
        source = {
            "article_slug": "iv-ketamine-for-ptsd",
            "channel": "web",
            "disclaimers_shown": shown,
        }
        return int(c.post("/v1/consultation-requests", json=lead_body(source=source)).status_code)

    assert shown(1.0) == 201
    assert [shown(bad) for bad in (1.5, "1", True)] == [422, 422, 422]

    def draft(year: object) -> int:
        body = article_body(slug=f"whole-{uuid.uuid4().hex[:8]}")
        body["references"][0]["year"] = year
        return int(c.post(ARTICLES, json=body, headers=editor).status_code)

    assert draft(2019.0) == 201
    assert [draft(bad) for bad in (2019.5, "2019", True)] == [422, 422, 422]
