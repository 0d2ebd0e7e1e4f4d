"""What the clinic's lawyer asked of the lead form: a TCPA-complete consent naming the clinic, a
privacy notice in both languages, an emergency notice, and adults only (both backends)."""

import pytest

from tests.conftest import lead_body
from tests.vault_helpers import opened_leads

OPEN = {"leads_rate_limit": "none"}
CLINIC = "Clínica Sol de Tucson"


def test_the_current_consent_names_the_clinic_and_says_what_tcpa_asks(make_client):
    c = make_client(name=CLINIC)
    body = c.get("/v1/consent-texts/current").json()
    assert (body["version"], body["locale"]) == ("2026-12-07", "en")
    text, sms = body["text"], body["sms_text"]
    assert f"I agree that {CLINIC} may contact me" in text and "{clinic_name}" not in text
    for said in (
        "automated technology",
        "prerecorded or artificial voices",
        "not a condition of buying any goods or services",
        "health information",
        "My Health My Data Act",
        "any reasonable way",
        "except records the law requires us to keep",
    ):
        assert said in text, said
    for said in (
        CLINIC,
        "not a condition of buying",
        "Message frequency varies",
        "Message and data rates may apply",
        "Reply HELP for help and STOP to opt out",
    ):
        assert said in sms, said
    assert body["age_text"] == "I am 18 or older."
    notice = body["emergency_notice"]
    for said in ("not for emergencies", "911", "988", "988lifeline.org", "838255", "oprima 2"):
        assert said in notice, said
    assert body["privacy_notice_url"] == "http://testserver/v1/legal/privacy-notice?locale=en"


def test_the_spanish_consent_says_the_same_with_stop_and_ayuda(make_client):
    c = make_client(name=CLINIC)
    body = c.get("/v1/consent-texts/current", params={"locale": "es-MX"}).json()
    assert (body["version"], body["locale"]) == ("2026-12-07", "es")
    assert f"Acepto que {CLINIC} se comunique conmigo" in body["text"]
    assert "excepto los registros que la ley nos obliga a conservar" in body["text"]
    assert "no es una condición para comprar" in body["text"]
    assert "Responda AYUDA para obtener ayuda y STOP" in body["sms_text"]
    assert body["age_text"] == "Tengo 18 años o más."
    for said in ("911", "oprima 2", "AYUDA", "988lineadevida.org", "oprima 1"):
        assert said in body["emergency_notice"], said
    assert body["privacy_notice_url"].endswith("/v1/legal/privacy-notice?locale=es")


@pytest.mark.parametrize(
    ("locale", "title", "says"),
    [
        ("en", "Privacy notice", "records the law requires us to keep"),
        ("es", "Aviso de privacidad", "los registros que la ley nos obliga a conservar"),
    ],
)
def test_the_privacy_notice_is_served_in_both_languages(make_client, locale, title, says):
    c = make_client(name=CLINIC, privacy_contact="privacidad@clinicasol.example")
    r = c.get("/v1/legal/privacy-notice", params={"locale": locale})
    assert r.status_code == 200 and r.headers["etag"]
    notice = r.json()
    assert notice["locale"] == locale and notice["title"].startswith(title)
    assert notice["version"] == 1 and notice["effective"] == "2026-12-07"
    assert CLINIC in notice["text"] and "{clinic_name}" not in notice["html"]
    assert "privacidad@clinicasol.example" in notice["text"]  # where to ask about one's data
    crisis = {
        "en": ("911", "988lifeline.org", "838255", "oprima 2"),
        "es": ("911", "AYUDA", "988lineadevida.org", "oprima 1"),
    }[locale]
    assert all(line in notice["text"] for line in crisis), crisis
    assert "My Health My Data Act" in notice["text"] and says in notice["text"]
    assert "<h3>" in notice["html"] and "<script" not in notice["html"]
    again = c.get(
        "/v1/legal/privacy-notice",
        params={"locale": locale},
        headers={"If-None-Match": r.headers["etag"]},
    )
    assert again.status_code == 304


def test_a_locale_without_a_notice_gets_the_default_and_a_bad_one_is_a_422(make_client):
    c = make_client()
    assert c.get("/v1/legal/privacy-notice", params={"locale": "fr"}).json()["locale"] == "en"
    bad = c.get("/v1/legal/privacy-notice", params={"locale": "x\x00"})
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("value", [None, False, 1, 1.0, "true", "yes"])
def test_a_lead_without_a_json_true_age_confirmation_is_a_422_naming_it(make_client, seeded, value):
    c = make_client(**OPEN)
    consent = {"contact": True, "sms": False, "consent_version": "2026-12-07"}
    if value is not None:
        consent["age_confirmed"] = value
    r = c.post("/v1/consultation-requests", json=lead_body(consent=consent))
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["body.consent.age_confirmed"]
    engine = seeded.engine()
    assert opened_leads(engine) == []  # nothing stored
    engine.dispose()


def test_the_age_confirmation_and_the_named_consent_are_stored_and_shown_to_staff(
    make_client, seeded, issue_key
):
    c = make_client(name=CLINIC, **OPEN)
    r = c.post("/v1/consultation-requests", json=lead_body())
    assert r.status_code == 201, r.text
    engine = seeded.engine()
    [(lead, _)] = opened_leads(engine)
    engine.dispose()
    assert lead.consent_age_confirmed is True
    assert lead.consent_text and lead.consent_text.startswith(f"I agree that {CLINIC} may")
    assert "\n\nI am 18 or older." in lead.consent_text  # the statement they ticked, on record
    staff = {"Authorization": f"Bearer {issue_key('leads:read')}"}
    shown = c.get(f"/v1/admin/consultation-requests/{r.json()['id']}", headers=staff).json()
    assert shown["consent_age_confirmed"] is True
    assert shown["consent_text"] == lead.consent_text


def test_the_consultation_button_says_what_the_clinic_sets_per_locale(make_client):
    plain = make_client().get("/v1/articles/iv-ketamine-for-ptsd").json()
    assert plain["call_to_action"]["button_label"] == "Request a consultation"
    assert "free" not in str(plain["call_to_action"]).lower()
    c = make_client(cta_button_label={"en": "Request a free consultation"})
    en = c.get("/v1/articles/iv-ketamine-for-ptsd").json()["call_to_action"]
    assert en["button_label"] == "Request a free consultation"
    assert en["heading"] == plain["call_to_action"]["heading"]  # the rest is the article's
    listed = c.get("/v1/articles").json()["data"]
    assert {a["call_to_action"]["button_label"] for a in listed} == {"Request a free consultation"}
    es = c.get("/v1/articles/ketamina-intravenosa-para-tept", params={"locale": "es"}).json()
    assert es["call_to_action"]["button_label"] == "Solicitar una consulta"  # not set for es
