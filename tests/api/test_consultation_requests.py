"""Public intake of consultation requests."""

import uuid

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from db.lead_models import ConsultationRequest, IdempotencyRecord, LeadTerm
from tests.conftest import lead_body
from tests.content_helpers import import_folder
from tests.vault_helpers import opened_leads

OPEN = {"leads_rate_limit": "none"}
# What every consent a test sends says beside its own fields: an adult, this version.
ADULT = {"age_confirmed": True, "consent_version": "2026-12-07"}


def _leads(seeded) -> list[ConsultationRequest]:
    engine = seeded.engine()
    with Session(engine) as s:
        rows = list(s.exec(select(ConsultationRequest)))
    engine.dispose()
    return rows


def _leads_in_order(seeded) -> list[ConsultationRequest]:
    return sorted(_leads(seeded), key=lambda lead: lead.created_at)


def test_consent_text_is_served_with_its_version(make_client):
    c = make_client()
    r = c.get("/v1/consent-texts/current")
    assert r.status_code == 200 and r.headers["etag"]
    body = r.json()
    assert body["version"] == "2026-12-07" and "consent" in body["text"]
    assert "STOP" in body["sms_text"]


def test_valid_request_is_stored_with_snapshots_and_echoes_no_personal_data(make_client, seeded):
    c = make_client(**OPEN)
    r = c.post(
        "/v1/consultation-requests", json=lead_body(), headers={"User-Agent": "ClinicApp/1.0"}
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {"id", "status", "created_at"} and body["status"] == "new"
    assert r.headers["location"] == f"/v1/admin/consultation-requests/{body['id']}"
    assert r.headers["cache-control"] == "no-store"
    # the id and the time are random digits and may hold "555" by chance: look at the rest
    echoed = r.text.replace(body["id"], "").replace(body["created_at"], "").lower()
    for personal in ("Ana", "Diaz", "example.com", "555", "Flashbacks"):
        assert personal.lower() not in echoed
    engine = seeded.engine()
    [(lead, opened)] = opened_leads(engine)
    engine.dispose()
    assert str(lead.id) == body["id"] and lead.status == "new"
    assert opened.phone == "+14155550132"
    assert opened.email == "ana.diaz@example.com"
    assert lead.consent_text and "withdraw my consent" in lead.consent_text
    # No SMS opt-in, so its wording was not agreed to.
    assert "Message frequency varies" not in lead.consent_text
    assert lead.consent_version == "2026-12-07" and lead.consent_contact and not lead.consent_sms
    assert lead.consent_age_confirmed is True
    assert opened.client_ip == "testclient"  # the peer TestClient reports
    assert opened.user_agent == "ClinicApp/1.0"
    assert {d["key"] for d in lead.disclaimer_versions} == {
        "fda-off-label",
        "risks-and-benefits",
        "crisis-resources",
    }
    assert all(d["version"] == 1 for d in lead.disclaimer_versions)
    campaign = {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "autumn"}
    assert opened.utm == campaign
    assert lead.source_article_slug == "iv-ketamine-for-ptsd" and lead.channel == "web"
    engine = seeded.engine()
    with Session(engine) as s:
        terms = {(t.kind, t.slug) for t in s.exec(select(LeadTerm))}
    engine.dispose()
    assert terms == {("therapy", "iv-ketamine"), ("condition", "ptsd")}


def test_sms_opt_in_snapshots_the_sms_wording(make_client, seeded):
    c = make_client(**OPEN)
    body = lead_body(
        preferred_contact_method="sms",
        consent={
            "contact": True,
            "sms": True,
            "age_confirmed": True,
            "consent_version": "2026-12-07",
        },
    )
    assert c.post("/v1/consultation-requests", json=body).status_code == 201
    [lead] = _leads(seeded)
    assert lead.consent_sms and "Message frequency varies" in (lead.consent_text or "")


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"therapies": ["iv-ketamine", "reiki"]}, ["body.therapies.1"]),
        ({"conditions": ["insomnia"]}, ["body.conditions.0"]),
        (
            {"consent": {"contact": False, **ADULT}},
            ["body.consent.contact"],
        ),
        # Consent is the JSON value true: 1 and 1.0 equal True in Python, and were taken for it.
        (
            {"consent": {"contact": 1, **ADULT}},
            ["body.consent.contact"],
        ),
        (
            {"consent": {"contact": 1.0, **ADULT}},
            ["body.consent.contact"],
        ),
        (
            {
                "consent": {
                    "contact": "true",
                    "age_confirmed": True,
                    "consent_version": "2026-12-07",
                }
            },
            ["body.consent.contact"],
        ),
        # An extension cannot be kept in E.164 (what staff get): refused rather than dropped.
        ({"phone": "+1 415 555 0132 ext. 123"}, ["body.phone"]),
        ({"phone": "(415) 555-0132 x123"}, ["body.phone"]),
        (
            {"consent": {**ADULT}},
            ["body.consent.contact"],
        ),
        (
            {"consent": {"contact": True, "age_confirmed": True, "consent_version": "1999-01-01"}},
            ["body.consent.consent_version"],
        ),
        ({"phone": "+1 555 0000 000"}, ["body.phone"]),
        ({"phone": "not a phone"}, ["body.phone"]),
        ({"email": "ana@"}, ["body.email"]),
        ({"email": "ana@localhost"}, ["body.email"]),
        ({"message": "x" * 2001}, ["body.message"]),
        ({"first_name": ""}, ["body.first_name"]),
        ({"first_name": "Ana\x00"}, ["body.first_name"]),
        ({"preferred_contact_method": "pigeon"}, ["body.preferred_contact_method"]),
        ({"preferred_contact_method": "sms"}, ["body.consent.sms"]),
        ({"source": {"article_slug": "ketamine-for-chronic-pain"}}, ["body.source.article_slug"]),
        ({"source": {"channel": "fax"}}, ["body.source.channel"]),
        ({"favourite_colour": "blue"}, ["body.favourite_colour"]),
        ({"phone": "123", "therapies": ["reiki"]}, ["body.phone", "body.therapies.0"]),
    ],
)
def test_invalid_requests_are_422_naming_each_bad_field(make_client, seeded, changes, fields):
    c = make_client(**OPEN)
    r = c.post("/v1/consultation-requests", json=lead_body(**changes))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert sorted(e["field"] for e in problem["errors"]) == sorted(fields)
    for personal in ("Ana", "Diaz", "Flashbacks"):  # a problem never echoes what was sent
        assert personal not in r.text
    assert _leads(seeded) == []


def test_missing_required_fields_are_listed(make_client):
    r = make_client(**OPEN).post("/v1/consultation-requests", json={})
    assert {e["field"] for e in r.json()["errors"]} == {
        "body.first_name",
        "body.last_name",
        "body.email",
        "body.consent",
        "body.phone",  # contact by phone (the default) needs one
    }


UNKNOWN_CONSENT = {
    "contact": True,
    "sms": False,
    "age_confirmed": True,
    "consent_version": "1999-01-01",
}


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        (
            {"email": "ana@", "phone": "123", "therapies": ["reiki"]},
            ["body.email", "body.phone", "body.therapies.0"],
        ),
        (
            {
                "first_name": "",
                "consent": UNKNOWN_CONSENT,
                "source": {"article_slug": "no-such-article", "utm_source": "x" * 201},
            },
            [
                "body.first_name",
                "body.consent.consent_version",
                "body.source.article_slug",
                "body.source.utm_source",
            ],
        ),
        (
            {"first_name": "", "source": {"article_slug": "no-such-article"}},
            ["body.first_name", "body.source.article_slug"],
        ),
        ({"email": "ana@", "preferred_contact_method": "sms"}, ["body.email", "body.consent.sms"]),
        ({"email": "ana@", "phone": None}, ["body.email", "body.phone"]),
        (
            {
                "message": "x" * 2001,
                "conditions": ["ptsd", "lycanthropy"],
                "source": {
                    "disclaimers_shown": [{"key": "crisis-resources", "version": 999}, {"key": 5}]
                },
            },
            [
                "body.message",
                "body.conditions.1",
                "body.source.disclaimers_shown.0",
                "body.source.disclaimers_shown.1.key",
                "body.source.disclaimers_shown.1.version",
            ],
        ),
        # A list over its bound is one error: its items are not looked up one by one.
        (
            {"source": {"disclaimers_shown": [{"key": "x", "version": 1}] * 21}},
            ["body.source.disclaimers_shown"],
        ),
        # A field that fails the schema is not looked up again: one error for it, not two.
        ({"email": "ana@", "phone": "\x00" * 5, "therapies": "reiki"}, None),
    ],
)
def test_schema_and_database_problems_come_in_one_422(make_client, seeded, changes, fields):
    """A form learns every problem from one answer: what the database says of the fields that
    passed the schema comes with the schema's own errors."""
    c = make_client(**OPEN)
    r = c.post("/v1/consultation-requests", json=lead_body(**changes))
    assert r.status_code == 422, r.text
    found = [e["field"] for e in r.json()["errors"]]
    if fields is None:
        assert sorted(found) == sorted(set(found)), found
        assert {"body.email", "body.phone", "body.therapies"} <= set(found)
    else:
        assert sorted(found) == sorted(fields)
    assert _leads(seeded) == []


def test_the_lead_after_a_content_import_is_checked_against_the_new_content(
    make_client, seeded, content
):
    """The app keeps its intake look-ups in memory per content version: the very next request
    after an import sees it, on the one-422 path and the stored lead alike."""
    c = make_client(**OPEN)
    consent = {
        "contact": True,
        "sms": False,
        "age_confirmed": True,
        "consent_version": "2027-01-01",
    }
    r = c.post("/v1/consultation-requests", json=lead_body(consent=consent, email="ana@"))
    assert sorted(e["field"] for e in r.json()["errors"]) == [
        "body.consent.consent_version",
        "body.email",
    ]
    assert c.post("/v1/consultation-requests", json=lead_body()).status_code == 201
    with (content / "consent.yaml").open("a") as f:
        f.write('- version: "2027-01-01"\n  text: New wording.\n  sms_text: New SMS wording.\n')
    disclaimers = content / "disclaimers.yaml"
    disclaimers.write_text(disclaimers.read_text().replace("call or text 988", "call 988"))
    engine = seeded.engine()
    import_folder(engine, content)
    engine.dispose()
    r = c.post("/v1/consultation-requests", json=lead_body(consent=consent, email="ana@"))
    assert [e["field"] for e in r.json()["errors"]] == ["body.email"]
    assert c.post("/v1/consultation-requests", json=lead_body(consent=consent)).status_code == 201
    first, latest = _leads_in_order(seeded)
    assert latest.consent_text == "New wording."
    versions = {d["key"]: d["version"] for d in latest.disclaimer_versions}
    assert versions["crisis-resources"] == 2
    assert {d["key"]: d["version"] for d in first.disclaimer_versions}["crisis-resources"] == 1


def test_other_bodies_are_415_and_broken_json_is_400(make_client):
    c = make_client(**OPEN)
    # JSON and HTML forms are read (tests/api/test_form_posts.py); anything else is a 415.
    for media in ("text/plain", "application/xml", "multipart/form-data; boundary=x"):
        r = c.post(
            "/v1/consultation-requests", content="first_name=Ana", headers={"Content-Type": media}
        )
        assert r.status_code == 415 and r.json()["code"] == "unsupported_media_type", media
    r = c.post(
        "/v1/consultation-requests",
        content='{"first_name": ',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["code"] == "malformed_json"


def test_oversized_request_is_413_and_stores_nothing(make_client, seeded):
    c = make_client(**OPEN)
    r = c.post("/v1/consultation-requests", json=lead_body(message="x" * 20_000))
    assert r.status_code == 413
    assert _leads(seeded) == []


def test_honeypot_answers_like_success_but_stores_spam(make_client, seeded):
    c = make_client(**OPEN)
    r = c.post("/v1/consultation-requests", json=lead_body(website="http://spam.example"))
    assert r.status_code == 201 and r.json()["status"] == "new"
    [lead] = _leads(seeded)
    assert lead.status == "spam"


def test_idempotent_replay_same_key_same_body(make_client, seeded):
    c = make_client(**OPEN)
    key = str(uuid.uuid4())
    first = c.post("/v1/consultation-requests", json=lead_body(), headers={"Idempotency-Key": key})
    second = c.post("/v1/consultation-requests", json=lead_body(), headers={"Idempotency-Key": key})
    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second.headers["location"] == first.headers["location"]
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert len(_leads(seeded)) == 1


def test_same_key_with_another_body_is_422(make_client, seeded):
    c = make_client(**OPEN)
    key = "form-123"
    assert (
        c.post(
            "/v1/consultation-requests", json=lead_body(), headers={"Idempotency-Key": key}
        ).status_code
        == 201
    )
    r = c.post(
        "/v1/consultation-requests",
        json=lead_body(first_name="Eve"),
        headers={"Idempotency-Key": key},
    )
    assert r.status_code == 422 and r.json()["code"] == "idempotency_key_reused"
    assert len(_leads(seeded)) == 1


def test_a_failed_request_releases_its_key(make_client, seeded):
    c = make_client(**OPEN)
    bad = c.post(
        "/v1/consultation-requests", json=lead_body(phone="123"), headers={"Idempotency-Key": "k1"}
    )
    assert bad.status_code == 422
    good = c.post("/v1/consultation-requests", json=lead_body(), headers={"Idempotency-Key": "k1"})
    assert good.status_code == 201 and len(_leads(seeded)) == 1


def test_bad_idempotency_key_is_422(make_client):
    r = make_client(**OPEN).post(
        "/v1/consultation-requests", json=lead_body(), headers={"Idempotency-Key": "x" * 300}
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "header.Idempotency-Key"


def test_rate_limit_answers_429_with_retry_after(make_client, seeded):
    c = make_client(leads_rate_limit="2/minute")
    statuses = [c.post("/v1/consultation-requests", json=lead_body()).status_code for _ in range(3)]
    assert statuses == [201, 201, 429]
    r = c.post("/v1/consultation-requests", json=lead_body())
    assert r.status_code == 429 and r.json()["code"] == "rate_limited"
    assert 0 < int(r.headers["retry-after"]) <= 60
    assert r.headers["ratelimit-limit"] == "2" and r.headers["ratelimit-remaining"] == "0"
    assert len(_leads(seeded)) == 2


def test_forwarded_for_is_honoured_only_from_trusted_proxies(make_client, seeded):
    headers = {"X-Forwarded-For": "198.51.100.7, 203.0.113.9"}
    direct = make_client(peer="192.0.2.10", **OPEN)
    assert (
        direct.post("/v1/consultation-requests", json=lead_body(), headers=headers).status_code
        == 201
    )
    proxied = make_client(peer="10.0.0.5", trusted_proxies=["10.0.0.0/8"], **OPEN)
    assert (
        proxied.post(
            "/v1/consultation-requests", json=lead_body(first_name="Bo"), headers=headers
        ).status_code
        == 201
    )
    engine = seeded.engine()
    ips = {p.first_name: p.client_ip for _, p in opened_leads(engine)}
    engine.dispose()
    assert ips == {"Ana": "192.0.2.10", "Bo": "203.0.113.9"}


def test_rate_limit_counts_the_real_client_behind_a_trusted_proxy(make_client):
    c = make_client(peer="10.0.0.5", trusted_proxies=["10.0.0.0/8"], leads_rate_limit="1/minute")
    first = c.post(
        "/v1/consultation-requests", json=lead_body(), headers={"X-Forwarded-For": "203.0.113.1"}
    )
    other = c.post(
        "/v1/consultation-requests", json=lead_body(), headers={"X-Forwarded-For": "203.0.113.2"}
    )
    again = c.post(
        "/v1/consultation-requests", json=lead_body(), headers={"X-Forwarded-For": "203.0.113.1"}
    )
    assert (first.status_code, other.status_code, again.status_code) == (201, 201, 429)


def test_a_retry_of_a_stored_request_does_not_use_up_the_rate_limit(make_client, seeded):
    c = make_client(leads_rate_limit="2/minute")
    first = c.post("/v1/consultation-requests", json=lead_body(), headers={"Idempotency-Key": "k"})
    assert first.status_code == 201
    for _ in range(5):  # a flaky network retrying the same request
        again = c.post(
            "/v1/consultation-requests", json=lead_body(), headers={"Idempotency-Key": "k"}
        )
        assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
        assert again.json()["id"] == first.json()["id"]
    second = c.post("/v1/consultation-requests", json=lead_body(first_name="Bo"))
    assert second.status_code == 201  # the budget still had room for a second lead
    third = c.post("/v1/consultation-requests", json=lead_body(first_name="Cy"))
    assert third.status_code == 429
    new_key = c.post(
        "/v1/consultation-requests",
        json=lead_body(first_name="Di"),
        headers={"Idempotency-Key": "n"},
    )
    assert new_key.status_code == 429  # an unknown key is no way around the limit
    late_retry = c.post(
        "/v1/consultation-requests", json=lead_body(), headers={"Idempotency-Key": "k"}
    )
    assert late_retry.status_code == 201 and late_retry.json()["id"] == first.json()["id"]
    assert len(_leads(seeded)) == 2
    engine = seeded.engine()
    with Session(engine) as s:
        assert s.get(IdempotencyRecord, "n") is None
    engine.dispose()


def test_over_the_limit_nothing_is_written_not_even_a_key(make_client):
    """A client over its limit sending a fresh key each time is refused before anything of
    its unit of work is written: no insert to roll back (on SQLite, no write lock taken)."""
    c = make_client(leads_rate_limit="1/minute")
    assert c.post("/v1/consultation-requests", json=lead_body()).status_code == 201
    writes: list[str] = []

    def record(_conn, _cursor, statement: str, *_args: object) -> None:
        if statement.lstrip().split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}:
            writes.append(statement)

    engine = c.app.state.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        for n in range(3):
            refused = c.post(
                "/v1/consultation-requests",
                json=lead_body(),
                headers={"Idempotency-Key": f"fresh-{n}"},
            )
            assert refused.status_code == 429
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert writes == []


def test_refused_requests_count_against_the_rate_limit_too(make_client):
    """A body that fails its schema or the content, or that is not JSON, is never a retry: it
    counts, and over the limit the answer is the 429 rather than what was wrong with it."""
    c = make_client(leads_rate_limit="3/minute")
    post = c.post
    assert post("/v1/consultation-requests", json=lead_body(email="ana@")).status_code == 422
    assert post("/v1/consultation-requests", json=lead_body(therapies=["reiki"])).status_code == 422
    not_json = {"content": "first_name=Ana", "headers": {"Content-Type": "text/plain"}}
    assert post("/v1/consultation-requests", **not_json).status_code == 415
    for refused in (
        post("/v1/consultation-requests", json=lead_body()),
        post("/v1/consultation-requests", json=lead_body(email="ana@")),
        post("/v1/consultation-requests", **not_json),
    ):
        assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
        assert refused.headers["ratelimit-remaining"] == "0"


def test_a_phone_is_needed_unless_contact_is_by_email(make_client, seeded):
    c = make_client(**OPEN)
    by_email = lead_body(preferred_contact_method="email")
    del by_email["phone"]
    r = c.post("/v1/consultation-requests", json=by_email)
    assert r.status_code == 201, r.text
    for method in ("phone", "sms", None):
        body = lead_body(
            consent={
                "contact": True,
                "sms": True,
                "age_confirmed": True,
                "consent_version": "2026-12-07",
            }
        )
        del body["phone"]
        if method is None:
            del body["preferred_contact_method"]  # the default is phone
        else:
            body["preferred_contact_method"] = method
        refused = c.post("/v1/consultation-requests", json=body)
        assert refused.status_code == 422, method
        [error] = refused.json()["errors"]
        assert error["field"] == "body.phone" and error["type"] == "phone_required", error
    bad = c.post(
        "/v1/consultation-requests", json=lead_body(preferred_contact_method="email", phone="123")
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["type"] == "invalid_phone"
    engine = seeded.engine()
    phones = sorted((p.phone or "") for _, p in opened_leads(engine))
    engine.dispose()
    assert phones == [""]  # the email-only lead, stored without a phone


def test_the_schema_says_when_a_phone_is_required(client):
    schema = client.get("/openapi.json").json()["components"]["schemas"][
        "ConsultationRequestCreate"
    ]
    assert "phone" not in schema["required"]
    rule = next(r for r in schema["allOf"] if "else" in r)
    assert rule["if"]["properties"]["preferred_contact_method"] == {"const": "email"}
    assert rule["else"]["required"] == ["phone"]


def test_a_phone_extension_is_refused_saying_where_to_put_it(make_client, seeded):
    c = make_client(**OPEN)
    r = c.post("/v1/consultation-requests", json=lead_body(phone="(415) 555-0132 ext. 7"))
    assert r.status_code == 422
    [error] = r.json()["errors"]
    assert error["field"] == "body.phone" and error["type"] == "phone_extension"
    assert "message" in error["message"]
    # an invalid number is told as such, extension or not: one round trip fixes it
    r = c.post("/v1/consultation-requests", json=lead_body(phone="123 ext. 9"))
    assert [e["type"] for e in r.json()["errors"]] == ["invalid_phone"]
    assert _leads(seeded) == []


def test_with_redis_unreachable_leads_are_stored_and_limited_per_process(make_client, seeded):
    """A Redis outage must not lose a patient's request, nor lift the limit: each process
    counts in its own memory until Redis answers again."""
    c = make_client(leads_rate_limit="2/minute", redis_url="redis://127.0.0.1:1/0")
    statuses = [
        c.post(
            "/v1/consultation-requests",
            json=lead_body(first_name=name),
            headers={"Idempotency-Key": f"redis-down-{name}"},
        ).status_code
        for name in ("Ana", "Bo", "Cy")
    ]
    assert statuses == [201, 201, 429]
    assert len(_leads(seeded)) == 2
