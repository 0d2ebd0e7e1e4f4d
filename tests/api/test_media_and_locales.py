"""Hero images over HTTP (the article, SEO, JSON-LD, /media) and translations: locale
negotiation, linked translations, hreflang, and the per-locale cache."""

import io
import shutil
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from PIL import Image
from sqlmodel import select

from db.lead_models import ConsultationRequest
from db.models import Disclaimer
from db.session import unit_of_work
from tests.conftest import DEMO_CONTENT, lead_body
from tests.content_helpers import import_folder

KETAMINE = "/v1/articles/iv-ketamine-for-ptsd"
SPANISH_SLUG = "ketamina-intravenosa-para-tept"


def test_an_article_has_a_hero_image_with_renditions_og_image_and_json_ld(client):
    body = client.get(KETAMINE).json()
    hero = body["hero_image"]
    assert hero["alt"].startswith("Abstract artwork")
    assert hero["caption"] and hero["credit"]
    assert (hero["width"], hero["height"]) == (1800, 1000)
    assert len(hero["dominant_color"]) == 7 and hero["dominant_color"].startswith("#")
    types = [r["mime_type"] for r in hero["renditions"]]
    assert {"image/webp", "image/jpeg"} <= set(types)
    for mime in set(types):
        assert sorted(r["width"] for r in hero["renditions"] if r["mime_type"] == mime) == [
            480,
            960,
            1600,
        ]
    for r in hero["renditions"]:
        assert r["url"].startswith("http://testserver/media/iv-ketamine-hero-")
        assert r["height"] == round(1000 * r["width"] / 1800)
    assert hero["src"].endswith(".jpg") and "-1600w-" in hero["src"]
    og = body["seo"]["og_image"]
    assert og["url"] == hero["src"]  # absolute, on the request's own host (no base set)
    assert (og["width"], og["mime_type"], og["alt"]) == (1600, "image/jpeg", hero["alt"])
    assert body["json_ld"]["image"] == {
        "@type": "ImageObject",
        "url": og["url"],
        "width": 1600,
        "height": 889,
        "caption": hero["caption"],
    }
    listed = client.get("/v1/articles").json()["data"]
    assert next(a for a in listed if a["slug"] == "iv-ketamine-for-ptsd")["hero_image"] == hero
    nad = next(a for a in listed if a["slug"] == "nad-plus-iv-therapy")
    assert nad["hero_image"] is None and nad["seo"]["og_image"] is None


def test_media_is_served_immutable_with_its_type_and_etag(client):
    hero = client.get(KETAMINE).json()["hero_image"]
    for rendition in hero["renditions"]:
        r = client.get(rendition["url"])
        assert r.status_code == 200
        assert r.headers["content-type"] == rendition["mime_type"]
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert int(r.headers["content-length"]) == rendition["size"] == len(r.content)
        with Image.open(io.BytesIO(r.content)) as image:
            assert image.size == (rendition["width"], rendition["height"])
        etag = r.headers["etag"]
        again = client.get(rendition["url"], headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag


def test_unknown_media_names_are_a_404_problem(client):
    real = client.get(KETAMINE).json()["hero_image"]["src"].removeprefix("http://testserver/media/")
    for name in (
        "nope.png",
        real.replace(real[-8:-4], "0000"),  # the right shape, another hash
        real.replace(".jpg", ".png"),
        "a" * 5000,
    ):
        r = client.get(f"/media/{name}")
        assert r.status_code == 404, name
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "media_not_found"
    r = client.get("/media/..%2F..%2Fetc%2Fpasswd")  # no route has that path
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


def test_therapies_have_hero_images(client):
    listed = client.get("/v1/therapies")
    assert listed.headers["content-language"] == "en"  # its words are in a locale
    assert all(t["hero_image"]["renditions"] for t in listed.json()["data"])
    spanish = client.get("/v1/therapies/iv-ketamine", headers={"Accept-Language": "es"})
    assert spanish.headers["content-language"] == "es"
    assert [a["slug"] for a in spanish.json()["articles"]] == [SPANISH_SLUG]
    one = client.get("/v1/therapies/nad-plus").json()
    assert one["hero_image"]["src"].startswith("http://testserver/media/nad-plus-hero-")


def test_translations_are_linked_with_hreflang_alternates(client):
    en = client.get(KETAMINE).json()
    es = client.get(f"/v1/articles/{SPANISH_SLUG}?locale=es").json()
    expected = [
        {"locale": "en", "slug": "iv-ketamine-for-ptsd", "url": f"{KETAMINE}?locale=en"},
        {"locale": "es", "slug": SPANISH_SLUG, "url": f"/v1/articles/{SPANISH_SLUG}?locale=es"},
    ]
    assert en["translations"] == es["translations"] == expected
    alternates = [
        {"hreflang": "en", "href": "https://clinic.example.com/articles/iv-ketamine-for-ptsd"},
        {"hreflang": "es", "href": f"https://clinic.example.com/es/articulos/{SPANISH_SLUG}"},
        {
            "hreflang": "x-default",
            "href": "https://clinic.example.com/articles/iv-ketamine-for-ptsd",
        },
    ]
    assert en["seo"]["alternates"] == es["seo"]["alternates"] == alternates
    for t in expected:
        assert client.get(t["url"]).json()["slug"] == t["slug"]
    sgb = client.get("/v1/articles/stellate-ganglion-block-for-ptsd").json()
    assert [t["locale"] for t in sgb["translations"]] == ["en", "es"]
    assert [a["hreflang"] for a in sgb["seo"]["alternates"]] == ["en", "es", "x-default"]


def test_the_spanish_article_carries_spanish_disclaimers(client):
    es = client.get(f"/v1/articles/{SPANISH_SLUG}?locale=es").json()
    assert es["locale"] == "es" and es["title"] == "Ketamina intravenosa para el TEPT"
    top = {d["key"]: d for d in es["disclaimers"]["top"]}
    assert set(top) == {"crisis-resources", "fda-off-label"}
    assert (
        "oprima 2" in top["crisis-resources"]["text"] and "911" in top["crisis-resources"]["text"]
    )
    assert [d["title"] for d in es["disclaimers"]["bottom"]] == ["Riesgos y beneficios"]
    section = client.get(f"/v1/articles/{SPANISH_SLUG}/sections/safety?locale=es").json()
    assert section["heading"] == "Seguridad"
    assert section["disclaimers"] == es["disclaimers"]
    listed = client.get("/v1/articles?locale=es").json()["data"]
    ketamina = next(a for a in listed if a["slug"] == SPANISH_SLUG)
    assert {d["title"] for d in ketamina["disclaimers"]["top"]} == {
        "Si está en crisis",
        "Uso fuera de indicación",
    }


def test_locale_falls_back_from_region_and_from_locales_without_content(client):
    for asked, served in (("en-US", "en"), ("es-MX", "es"), ("fr", "en"), ("de-DE", "en")):
        r = client.get(f"{KETAMINE}?locale={asked}")
        assert r.status_code == 200
        assert r.json()["locale"] == served, asked
        assert r.headers["content-language"] == served
        assert "accept-language" not in r.headers.get("vary", "").lower()
    assert client.get(f"{KETAMINE}?locale=english").status_code == 422


def test_accept_language_chooses_with_q_values_and_responses_vary_on_it(client):
    cases = [
        ("es", "es"),
        ("es-419, en;q=0.5", "es"),
        ("en;q=0.4, es;q=0.8", "es"),
        ("fr, es;q=0.1", "es"),
        ("es;q=0, en", "en"),
        ("de, fr", "en"),
        ("*", "en"),
        ("x" * 2000, "en"),
        ("es;q=abc, en;q=0.1", "en"),
        ("", "en"),
    ]
    for header, served in cases:
        for _ in range(2):  # the route on a miss, then the cache-hit middleware
            r = client.get(KETAMINE, headers={"Accept-Language": header})
            assert r.status_code == 200
            assert r.json()["locale"] == served, header
            assert r.headers["content-language"] == served
            assert "Accept-Language" in r.headers["vary"]
    plain = client.get(KETAMINE)
    assert plain.json()["locale"] == "en" and "Accept-Language" in plain.headers["vary"]


def test_the_es_translation_is_served_for_the_english_slug_and_etags_differ(client):
    en = client.get(KETAMINE)
    es = client.get(KETAMINE, headers={"Accept-Language": "es"})
    assert es.json()["slug"] == SPANISH_SLUG
    assert en.headers["etag"] != es.headers["etag"]
    # An ETag of one locale never answers 304 for the other.
    r = client.get(KETAMINE, headers={"Accept-Language": "es", "If-None-Match": en.headers["etag"]})
    assert r.status_code == 200 and r.json()["locale"] == "es"
    r = client.get(KETAMINE, headers={"Accept-Language": "es", "If-None-Match": es.headers["etag"]})
    assert r.status_code == 304
    lists = [client.get("/v1/articles", headers={"Accept-Language": lang}) for lang in ("en", "es")]
    assert lists[0].headers["etag"] != lists[1].headers["etag"]
    assert {a["locale"] for a in lists[1].json()["data"]} == {"es"}
    assert lists[1].json()["locale"] == "es"
    assert lists[0].json()["meta"]["total"] == 3


def test_a_hostile_accept_language_cannot_fill_the_response_cache(client):
    cache = client.app.state.response_cache
    client.get(KETAMINE)
    client.get(KETAMINE, headers={"Accept-Language": "es"})
    before = len(cache.held())
    for n in range(200):
        header = f"x{n:03d}-{'a' * 8};q=0.{n % 10}, es-{n:03d};q=0.5, zz"
        r = client.get(KETAMINE, headers={"Accept-Language": header})
        assert r.json()["locale"] == "es"
    assert len(cache.held()) == before
    # Each key is the route's, and the public base URL its links were written on.
    keys = [k for k, _ in cache.held() if k[:2] == ("article", "iv-ketamine-for-ptsd")]
    assert sorted(k[2] for k in keys) == ["en", "es"]


def test_disclaimers_and_consent_texts_follow_the_locale(client):
    es = client.get("/v1/disclaimers", headers={"Accept-Language": "es"})
    assert es.json()["locale"] == "es" and es.headers["content-language"] == "es"
    assert {d["locale"] for d in es.json()["data"]} == {"es"}
    assert len(es.json()["data"]) == 4
    en = client.get("/v1/disclaimers").json()
    assert {d["locale"] for d in en["data"]} == {"en"}
    consent = client.get("/v1/consent-texts/current?locale=es-US").json()
    assert (consent["locale"], consent["version"]) == ("es", "2026-12-07")
    assert client.get("/v1/consent-texts/current").json()["locale"] == "en"


def test_a_spanish_lead_stores_the_spanish_consent_text(make_client, seeded):
    c = make_client(leads_rate_limit="none")
    body = lead_body(
        consent={
            "contact": True,
            "sms": True,
            "age_confirmed": True,
            "consent_version": "2026-12-07",
            "locale": "es",
        },
        source={"article_slug": SPANISH_SLUG, "locale": "es", "channel": "web"},
    )
    r = c.post("/v1/consultation-requests", json=body)
    assert r.status_code == 201, r.text
    engine = seeded.engine()
    with unit_of_work(engine) as s:
        lead = s.exec(select(ConsultationRequest)).one()
        assert lead.consent_text is not None
        assert lead.consent_text.startswith("Acepto que Example Clinic")
        assert lead.consent_age_confirmed is True
        assert "También acepto recibir mensajes de texto" in lead.consent_text
        shown = {(d["key"], d["locale"]) for d in lead.disclaimer_versions}
        assert shown == {
            ("crisis-resources", "es"),
            ("fda-off-label", "es"),
            ("risks-and-benefits", "es"),
        }
    # A locale without a consent text gets the wording the consent route answers it with.
    for asked, wording in (("es-MX", "Acepto que"), ("fr", "I agree")):
        other = lead_body(
            consent={
                "contact": True,
                "sms": False,
                "age_confirmed": True,
                "consent_version": "2026-11-01",  # an older version is still known
                "locale": asked,
            }
        )
        r = c.post("/v1/consultation-requests", json=other)
        assert r.status_code == 201, r.text
        with unit_of_work(engine) as s:
            lead = s.exec(
                select(ConsultationRequest).where(
                    ConsultationRequest.id == uuid.UUID(r.json()["id"])
                )
            ).one()
            assert (lead.consent_text or "").startswith(wording)
    unknown = lead_body(
        consent={
            "contact": True,
            "age_confirmed": True,
            "consent_version": "1999-01-01",
            "locale": "es",
        }
    )
    r = c.post("/v1/consultation-requests", json=unknown)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["body.consent.consent_version"]
    engine.dispose()


def test_no_route_serves_a_spanish_article_without_its_spanish_disclaimers(seeded, make_client):
    engine = seeded.engine()
    with unit_of_work(engine) as s:  # as if someone edited the database by hand
        s.exec(
            select(Disclaimer).where(
                Disclaimer.key == "crisis-resources", Disclaimer.locale == "es"
            )
        ).one().active = False
    engine.dispose()
    c = make_client()
    for path in (
        f"/v1/articles/{SPANISH_SLUG}?locale=es",
        f"/v1/articles/{SPANISH_SLUG}/sections/overview?locale=es",
        f"{KETAMINE}?locale=es",
        "/v1/articles?locale=es",
        "/v1/therapies/iv-ketamine?locale=es",
        "/v1/conditions/ptsd?locale=es",
    ):
        r = c.get(path)
        assert r.status_code == 503, path
        assert r.json()["code"] == "article_withheld"
    # The English article keeps its English crisis resources.
    assert c.get(KETAMINE).status_code == 200


def test_a_lead_from_a_spanish_page_is_attributed_however_the_form_names_it(make_client, seeded):
    """The article a Spanish reader saw is found as the article route finds it: by the
    Spanish slug, by the English slug in Spanish, with a regional locale, or with only the
    consent's locale."""
    c = make_client(leads_rate_limit="none")
    es_consent = {
        "contact": True,
        "sms": False,
        "age_confirmed": True,
        "consent_version": "2026-12-07",
        "locale": "es",
    }
    for source in (
        {"article_slug": SPANISH_SLUG},  # the locale comes from consent.locale
        {"article_slug": SPANISH_SLUG, "locale": "es-MX"},
        {"article_slug": "iv-ketamine-for-ptsd", "locale": "es"},
        {"article_slug": "iv-ketamine-for-ptsd", "locale": "es-419"},
    ):
        r = c.post(
            "/v1/consultation-requests",
            json=lead_body(consent=es_consent, source={**source, "channel": "web"}),
        )
        assert r.status_code == 201, (source, r.text)
        engine = seeded.engine()
        with unit_of_work(engine) as s:
            lead = s.get_one(ConsultationRequest, uuid.UUID(r.json()["id"]))
            assert {d["locale"] for d in lead.disclaimer_versions} == {"es"}, source
        engine.dispose()


def test_latin_american_and_lower_case_regions_are_locales(client):
    for locale in ("es-419", "es-mx", "es-MX"):
        r = client.get(f"/v1/articles?locale={locale}")
        assert r.status_code == 200, locale
        assert r.headers["content-language"] == "es"
    assert client.get("/v1/articles?locale=es-1234").status_code == 422


def test_spanish_texts_and_drafts_do_not_wait_for_a_published_spanish_article(
    make_client, seeded, issue_key, tmp_path
):
    """Consent and disclaimers in Spanish, and the preview of the first Spanish draft, are
    served while no Spanish article is published yet."""
    folder = Path(shutil.copytree(DEMO_CONTENT, tmp_path / "content"))
    spanish = folder / f"articles/{SPANISH_SLUG}.md"
    spanish.write_text(spanish.read_text().replace("status: published", "status: draft", 1))
    engine = seeded.engine()
    import_folder(engine, folder)
    engine.dispose()
    c = make_client()
    consent = c.get("/v1/consent-texts/current?locale=es")
    assert consent.json()["locale"] == "es" and consent.headers["content-language"] == "es"
    assert consent.json()["text"].startswith("Acepto que")
    disclaimers = c.get("/v1/disclaimers?locale=es").json()
    assert disclaimers and all(d["locale"] == "es" for d in disclaimers["data"])
    assert c.get(f"/v1/articles/{SPANISH_SLUG}?locale=es").status_code == 404
    made = c.post(
        "/v1/admin/previews",
        json={"slug": SPANISH_SLUG, "locale": "es"},
        headers={"Authorization": f"Bearer {issue_key('content:write', name='editor')}"},
    )
    assert made.status_code == 201, made.text
    url = urlsplit(made.json()["url"])
    shown = c.get(f"{url.path}?{url.query}")
    assert shown.status_code == 200, shown.text
    assert shown.json()["locale"] == "es"


def test_a_spanish_page_names_its_therapies_and_conditions_in_spanish(client):
    es = client.get(f"/v1/articles/{SPANISH_SLUG}", params={"locale": "es"}).json()
    assert [t["name"] for t in es["therapies"]] == [
        "Terapia de infusión intravenosa de ketamina",
        "Bloqueo del ganglio estrellado (SGB)",
    ]
    assert "Trastorno de estrés postraumático (TEPT)" in [c["name"] for c in es["conditions"]]
    ld = es["json_ld"]
    assert [t["name"] for t in ld["mainEntity"]] == [t["name"] for t in es["therapies"]]
    assert {t["legalStatus"] for t in ld["mainEntity"]} == {
        "Uso fuera de indicación: la FDA lo aprobó para otros usos"
    }
    assert [c["name"] for c in ld["about"]] == [c["name"] for c in es["conditions"]]
    # the slugs, and the facts behind the disclaimers, are the same in every language
    en = client.get(KETAMINE).json()
    assert [t["slug"] for t in en["therapies"]] == [t["slug"] for t in es["therapies"]]
    assert en["therapies"][0]["name"] == "IV ketamine infusion therapy"
    listed = client.get("/v1/articles", params={"locale": "es"}).json()["data"]
    assert next(a for a in listed if a["slug"] == SPANISH_SLUG)["therapies"] == es["therapies"]


def test_taxonomy_lists_follow_the_locale_and_fall_back_to_the_default(client):
    es = client.get("/v1/therapies", headers={"Accept-Language": "es-MX, en;q=0.5"})
    assert es.headers["content-language"] == "es"
    assert "Accept-Language" in es.headers["vary"]
    nad = next(t for t in es.json()["data"] if t["slug"] == "nad-plus")
    assert nad["name"] == "Terapia intravenosa con NAD+"
    assert nad["regulatory_note"].startswith("No existe ningún producto de NAD+ aprobado")
    assert nad["regulatory_status"] == "not_fda_approved"
    conditions = client.get("/v1/conditions", params={"locale": "es"}).json()["data"]
    assert {c["slug"]: c["name"] for c in conditions}["chronic-pain"] == "Dolor crónico"
    one = client.get("/v1/conditions/ptsd", params={"locale": "es"}).json()
    assert one["name"] == "Trastorno de estrés postraumático (TEPT)"
    assert {a["slug"] for a in one["articles"]} == {
        SPANISH_SLUG,
        "bloqueo-del-ganglio-estrellado-para-tept",
    }
    for locale in ("en-US", "fr"):  # a region falls back to its language, fr to the default
        en = client.get("/v1/therapies", params={"locale": locale})
        assert en.headers["content-language"] == "en"
        names = {t["slug"]: t["name"] for t in en.json()["data"]}
        assert names["nad-plus"] == "NAD+ IV therapy"
    assert client.get("/v1/conditions", params={"locale": "e\x00s"}).status_code == 422


def test_an_article_not_yet_in_spanish_is_served_in_english_saying_so(
    make_client, seeded, tmp_path
):
    folder = Path(shutil.copytree(DEMO_CONTENT, tmp_path / "content"))
    (folder / "articles/terapia-intravenosa-con-nad.md").unlink()
    engine = seeded.engine()
    import_folder(engine, folder)
    engine.dispose()
    c = make_client()
    nad = c.get("/v1/articles/nad-plus-iv-therapy?locale=es")
    assert nad.status_code == 200
    assert nad.json()["locale"] == "en" and nad.headers["content-language"] == "en"
    assert [t["locale"] for t in nad.json()["translations"]] == ["en"]
    assert nad.json()["seo"]["alternates"] == []
