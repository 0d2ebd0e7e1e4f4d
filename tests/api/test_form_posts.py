"""No-JS forms (issue 26, item 4): `POST /v1/consultation-requests` takes an HTML form's
`application/x-www-form-urlencoded` body with the JSON fields' names (dotted for nested, repeated
for lists, "on"/"true" for checkboxes), meets the same validation and problems, and sends a
browser back to its `return_to` page (an allowed origin only) with a 303."""

from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.conftest import lead_body

LEADS = "/v1/consultation-requests"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
BROWSER = {**FORM, "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
PAGE = "https://www.clinic.example/consultation?from=article#form"  # on CLINIC_CORS_ORIGINS


def as_form(document: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """A JSON body as a browser would send its form: dotted names, repeated list names,
    checkboxes "on" when ticked and left out when not."""
    pairs: list[tuple[str, str]] = []
    for name, value in document.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            pairs += as_form(value, f"{key}.")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    pairs += as_form(item, f"{key}.{index}.")
                else:
                    pairs.append((key, str(item)))
        elif value is True:
            pairs.append((key, "on"))
        elif value is not False and value is not None:
            pairs.append((key, str(value)))
    return pairs


def _staff_view(c: TestClient, key: str, lead_id: str) -> dict[str, Any]:
    r = c.get(
        f"/v1/admin/consultation-requests/{lead_id}", headers={"Authorization": f"Bearer {key}"}
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def _count(c: TestClient, key: str) -> int:
    r = c.get("/v1/admin/consultation-requests", headers={"Authorization": f"Bearer {key}"})
    return len(r.json()["data"])


def test_a_form_post_is_stored_like_its_json(make_client, issue_key):
    c = make_client(leads_rate_limit="none")
    reader = issue_key("leads:read")
    body: dict[str, Any] = lead_body(
        therapies=["iv-ketamine", "nad-plus"], conditions=["ptsd", "depression"]
    )
    body["source"]["disclaimers_shown"] = [{"key": "fda-off-label", "version": 1}]
    r = c.post(LEADS, content=urlencode(as_form(body)), headers=FORM)
    assert r.status_code == 201, r.text
    assert r.headers["content-type"] == "application/json"
    lead = _staff_view(c, reader, r.json()["id"])
    assert lead["therapies"] == ["iv-ketamine", "nad-plus"]
    assert lead["conditions"] == ["ptsd", "depression"]
    assert lead["email"] == "ana.diaz@example.com"
    assert lead["consent_age_confirmed"] is True and lead["consent_sms"] is False
    assert lead["source_article_slug"] == "iv-ketamine-for-ptsd"
    assert lead["utm"]["utm_campaign"] == "autumn"
    assert [(d["key"], d["version"]) for d in lead["disclaimers_reported"]] == [
        ("fda-off-label", 1)
    ]


def test_a_browser_is_sent_back_to_its_page_with_the_lead(make_client, issue_key):
    c = make_client(leads_rate_limit="none")
    reader = issue_key("leads:read")
    form = [*as_form(lead_body()), ("return_to", PAGE), ("idempotency_key", "form-7f3a")]
    r = c.post(LEADS, content=urlencode(form), headers=BROWSER, follow_redirects=False)
    assert r.status_code == 303, r.text
    location = urlsplit(r.headers["location"])
    assert (location.scheme, location.netloc, location.path) == (
        "https",
        "www.clinic.example",
        "/consultation",
    )
    assert location.fragment == "form"
    query = parse_qs(location.query)
    assert query["from"] == ["article"]
    [lead_id] = query["lead"]
    assert _staff_view(c, reader, lead_id)["first_name"] == "Ana"

    # The form's idempotency_key is its Idempotency-Key: a second press stores nothing new.
    again = c.post(LEADS, content=urlencode(form), headers=BROWSER, follow_redirects=False)
    assert parse_qs(urlsplit(again.headers["location"]).query)["lead"] == [lead_id]
    assert _count(c, reader) == 1


def test_a_refused_form_is_sent_back_naming_each_field(make_client, issue_key):
    c = make_client(leads_rate_limit="none")
    reader = issue_key("leads:read")
    body: dict[str, Any] = lead_body(email="not-an-email", therapies=["no-such-therapy"])
    del body["consent"]["age_confirmed"]  # the box left unticked: the browser sends nothing
    form = [*as_form(body), ("return_to", PAGE)]
    r = c.post(LEADS, content=urlencode(form), headers=BROWSER, follow_redirects=False)
    assert r.status_code == 303
    query = parse_qsl(urlsplit(r.headers["location"]).query)
    assert ("error", "validation_failed") in query
    fields = {v for k, v in query if k == "field"}
    assert {"email", "consent.age_confirmed"} <= fields, fields
    assert _count(c, reader) == 0

    # Without return_to (or from a script), the same problems as the JSON body's.
    as_json = c.post(LEADS, json=body)
    as_form_problem = c.post(LEADS, content=urlencode(as_form(body)), headers=FORM)
    assert as_form_problem.status_code == as_json.status_code == 422
    assert as_form_problem.headers["content-type"] == "application/problem+json"
    assert as_form_problem.json()["errors"] == as_json.json()["errors"]


def test_the_rate_limit_sends_a_browser_back_too(make_client):
    c = make_client(leads_rate_limit="1/minute")
    form = urlencode([*as_form(lead_body()), ("return_to", PAGE)])
    first = c.post(LEADS, content=form, headers=BROWSER, follow_redirects=False)
    assert "lead" in parse_qs(urlsplit(first.headers["location"]).query)
    second = c.post(LEADS, content=form, headers=BROWSER, follow_redirects=False)
    assert second.status_code == 303
    assert parse_qs(urlsplit(second.headers["location"]).query)["error"] == ["rate_limited"]


@pytest.mark.parametrize(
    "return_to",
    [
        "https://evil.example/phish",
        "https://www.clinic.example.evil.example/",
        "http://www.clinic.example/",  # another scheme is another origin
        "//evil.example/",
        "javascript:alert(1)",
        "/relative",
    ],
)
def test_return_to_must_be_on_an_allowed_origin(make_client, issue_key, return_to):
    c = make_client(leads_rate_limit="none")
    reader = issue_key("leads:read")
    form = urlencode([*as_form(lead_body()), ("return_to", return_to)])
    r = c.post(LEADS, content=form, headers=BROWSER, follow_redirects=False)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in r.json()["errors"]] == ["body.return_to"]
    assert "location" not in r.headers
    assert _count(c, reader) == 0


def _with(*pairs: tuple[str, str]) -> bytes:
    """A valid form with these names added."""
    return urlencode([*as_form(lead_body()), *pairs]).encode()


@pytest.mark.parametrize(
    ("body", "field", "kind"),
    [
        (b"first_name=\xff\xfe", "body", "form_invalid"),  # not UTF-8
        (_with(("first_name", "x")) + b"&message=Jos%E9", "body", "form_invalid"),  # nor escaped
        (urlencode([("n", "x")] * 500).encode(), "body", "form_invalid"),  # more than any form
        (_with(("a." * 300 + "b", "x")), "body", "form_invalid"),  # deeper than any field
        (_with(("a." * 3000 + "b", "x")), "body", "form_invalid"),
        (
            _with(("source.disclaimers_shown.\u00b2.key", "x")),
            "disclaimers_shown",
            None,
        ),  # ² no index
        (_with(("first_name", "A\x00na")), "first_name", None),
        (_with(("consent", "on")), "consent", None),
        (_with(("consent.sms", "maybe")), "sms", None),
        (_with(("email", "b@example.com")), "email", None),
        (_with(("extra.field", "x")), "extra", None),
        (_with(("idempotency_key", "ключ")), "Idempotency", None),
        (_with(("idempotency_key", "a\r\nb")), "Idempotency", None),
    ],
)
def test_hostile_form_bodies_are_a_422_and_store_nothing(make_client, issue_key, body, field, kind):
    c = make_client(leads_rate_limit="none")
    reader = issue_key("leads:read")
    r = c.post(LEADS, content=body, headers=FORM)
    assert r.status_code == 422, r.text
    errors = r.json()["errors"]
    if kind is not None:
        assert [(e["field"], e["type"]) for e in errors] == [(field, kind)], errors
    else:
        assert any(field in e["field"] for e in errors), errors
    assert _count(c, reader) == 0


def test_a_form_from_another_site_is_refused(make_client, issue_key):
    """A form post needs no CORS preflight: without this, any site could make its visitors'
    browsers submit leads under their addresses."""
    c = make_client(leads_rate_limit="none")
    reader = issue_key("leads:read")
    form = urlencode(as_form(lead_body()))
    for headers in (
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "https://www.clinic.example.evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
    ):
        r = c.post(LEADS, content=form, headers={**FORM, **headers})
        assert r.status_code == 403, (headers, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    assert _count(c, reader) == 0
    # The clinic's own site, and a client that is no browser, may post.
    mine = c.post(LEADS, content=form, headers={**FORM, "Origin": "https://www.clinic.example"})
    assert mine.status_code == 201, mine.text
    assert c.post(LEADS, content=form, headers=FORM).status_code == 201


def test_a_form_in_another_charset_is_a_415(make_client):
    c = make_client(leads_rate_limit="none")
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=windows-1252"}
    r = c.post(LEADS, content=urlencode(as_form(lead_body())), headers=headers)
    assert r.status_code == 415
    utf8 = {"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}
    assert c.post(LEADS, content=urlencode(as_form(lead_body())), headers=utf8).status_code == 201


def test_the_page_gets_this_answer_only(make_client):
    c = make_client(leads_rate_limit="none")
    page = "https://www.clinic.example/form?keep=1&lead=old&error=rate_limited&field=email"
    ok = c.post(
        LEADS,
        content=urlencode([*as_form(lead_body()), ("return_to", page)]),
        headers=BROWSER,
        follow_redirects=False,
    )
    query = parse_qsl(urlsplit(ok.headers["location"]).query)
    assert [k for k, _ in query] == ["keep", "lead"] and ("lead", "old") not in query
    # A bad form key is named as the form names it; a hundred unknown names, twenty at most.
    bad = [*as_form(lead_body()), ("idempotency_key", "a\nb"), ("return_to", page)]
    bad += [(f"unknown{n}", "x") for n in range(100)]
    refused = c.post(LEADS, content=urlencode(bad), headers=BROWSER, follow_redirects=False)
    fields = [v for k, v in parse_qsl(urlsplit(refused.headers["location"]).query) if k == "field"]
    assert fields[0] == "idempotency_key" and len(fields) == 20, fields


def test_other_body_types_are_still_a_415_naming_both(make_client):
    c = make_client(leads_rate_limit="none")
    r = c.post(LEADS, files={"first_name": (None, "Ana")})  # multipart/form-data
    assert r.status_code == 415
    assert "application/x-www-form-urlencoded" in r.json()["detail"]
