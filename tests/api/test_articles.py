"""Public article endpoints over the demo content."""

import pytest

KETAMINE_SECTIONS = [
    "overview",
    "memory-consolidation",
    "fear-extinction",
    "cognitive-rigidity",
    "comorbid-depression-anxiety",
    "stellate-ganglion-block",
    "safety",
    "consultation",
]
ARTICLE_FIELDS = {
    "id",
    "slug",
    "locale",
    "title",
    "summary",
    "therapies",
    "conditions",
    "sections",
    "references",
    "call_to_action",
    "medical_review",
    "seo",
    "hero_image",
    "translations",
    "json_ld",
    "disclaimers",
    "published_at",
    "updated_at",
    "revision",
}


def test_ketamine_article_has_its_sections_in_order_and_its_disclaimers(client):
    r = client.get("/v1/articles/iv-ketamine-for-ptsd")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert set(body) == ARTICLE_FIELDS
    assert [s["key"] for s in body["sections"]] == KETAMINE_SECTIONS
    kinds = {s["key"]: s["kind"] for s in body["sections"]}
    assert kinds["overview"] == "overview" and kinds["consultation"] == "call_to_action"
    assert kinds["fear-extinction"] == "mechanism"
    for section in body["sections"]:
        assert set(section) == {"key", "heading", "kind", "markdown", "html", "text", "citations"}
        assert section["html"].startswith("<")
        assert "<" not in section["text"]
    keys = {d["key"] for group in body["disclaimers"].values() for d in group}
    assert keys == {"fda-off-label", "risks-and-benefits", "crisis-resources"}
    for placement, group in body["disclaimers"].items():
        for d in group:
            assert d["placement"] == placement
            assert d["version"] == 1 and d["text"] and d["title"]
    assert [t["slug"] for t in body["therapies"]] == ["iv-ketamine", "stellate-ganglion-block"]
    assert {c["slug"] for c in body["conditions"]} == {"ptsd", "depression", "anxiety"}
    assert body["call_to_action"]["button_label"]
    review = body["medical_review"]
    assert review["reviewer"] and review["reviewed_at"] < review["next_review_due"]
    assert isinstance(review["review_overdue"], bool)
    assert body["seo"]["canonical_url"].endswith("/iv-ketamine-for-ptsd")
    assert body["revision"] == 1


def test_json_ld_describes_a_medical_web_page(client):
    ld = client.get("/v1/articles/iv-ketamine-for-ptsd").json()["json_ld"]
    assert ld["@context"] == "https://schema.org" and ld["@type"] == "MedicalWebPage"
    assert {"MedicalTherapy"} == {e["@type"] for e in ld["mainEntity"]}
    assert "Post-traumatic stress disorder (PTSD)" in {a["name"] for a in ld["about"]}
    # The demo's reviewer is a placeholder: never told to search engines as a real one.
    assert "reviewedBy" not in ld and "lastReviewed" not in ld
    assert [p["identifier"] for p in ld["hasPart"]] == KETAMINE_SECTIONS
    assert ld["hasPart"][1]["url"].endswith("#memory-consolidation")


def test_section_endpoint_returns_one_section(client):
    r = client.get("/v1/articles/iv-ketamine-for-ptsd/sections/fear-extinction")
    assert r.status_code == 200
    assert r.json()["heading"] == "Fear extinction"
    missing = client.get("/v1/articles/iv-ketamine-for-ptsd/sections/no-such-section")
    assert missing.status_code == 404
    assert missing.json()["code"] == "section_not_found"


@pytest.mark.parametrize("slug", ["ketamine-for-chronic-pain", "no-such-article"])
def test_drafts_answer_404_like_a_missing_slug(client, slug):
    r = client.get(f"/v1/articles/{slug}")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "article_not_found"
    assert client.get(f"/v1/articles/{slug}/sections/overview").status_code == 404


def test_drafts_are_not_listed_or_searchable(client):
    slugs = [a["slug"] for a in client.get("/v1/articles?page_size=100").json()["data"]]
    assert "ketamine-for-chronic-pain" not in slugs
    assert client.get("/v1/articles?condition=chronic-pain").json()["meta"]["total"] == 0
    assert client.get("/v1/articles?q=sensitisation").json()["meta"]["total"] == 0


def test_list_is_newest_first_with_summaries_only(client):
    r = client.get("/v1/articles")
    body = r.json()
    assert [a["slug"] for a in body["data"]] == [
        "nad-plus-iv-therapy",
        "stellate-ganglion-block-for-ptsd",
        "iv-ketamine-for-ptsd",
    ]
    meta = body["meta"]
    assert meta.pop("changes_cursor")
    assert meta == {"total": 3, "page": 1, "page_size": 20, "total_is_estimate": False}
    item = body["data"][0]
    assert set(item) == ARTICLE_FIELDS - {"sections", "references", "json_ld"} | {"snippet"}
    assert item["snippet"] is None  # only a search quotes the text
    for group in item["disclaimers"].values():
        for d in group:
            assert "text" not in d
    nad = {d["key"] for g in item["disclaimers"].values() for d in g}
    assert nad == {"not-fda-approved", "risks-and-benefits"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("therapy=iv-ketamine", {"iv-ketamine-for-ptsd"}),
        (
            "therapy=stellate-ganglion-block",
            {"iv-ketamine-for-ptsd", "stellate-ganglion-block-for-ptsd"},
        ),
        (
            "condition=anxiety&therapy=stellate-ganglion-block",
            {"iv-ketamine-for-ptsd", "stellate-ganglion-block-for-ptsd"},
        ),
        ("condition=depression", {"iv-ketamine-for-ptsd"}),
        ("therapy=unknown-therapy", set()),
        # No French content: the default locale's articles, never an empty list.
        (
            "locale=fr",
            {"iv-ketamine-for-ptsd", "stellate-ganglion-block-for-ptsd", "nad-plus-iv-therapy"},
        ),
        (
            "locale=es",
            {
                "ketamina-intravenosa-para-tept",
                "bloqueo-del-ganglio-estrellado-para-tept",
                "terapia-intravenosa-con-nad",
            },
        ),
        ("q=fear", {"iv-ketamine-for-ptsd"}),
        ("q=amygdala", {"iv-ketamine-for-ptsd", "stellate-ganglion-block-for-ptsd"}),
        ("q=consolidated+memories", {"iv-ketamine-for-ptsd"}),
        ("q=coenzyme", {"nad-plus-iv-therapy"}),
        ("q=fear&therapy=stellate-ganglion-block&condition=depression", {"iv-ketamine-for-ptsd"}),
        ("q=zebra", set()),
        ("q=%22%29+OR+*+NEAR%28", set()),
        ("q=---", set()),
    ],
)
def test_filters_and_search(client, query, expected):
    r = client.get(f"/v1/articles?{query}")
    assert r.status_code == 200
    body = r.json()
    assert {a["slug"] for a in body["data"]} == expected
    assert body["meta"]["total"] == len(expected)


def test_pagination_links_keep_filters(client):
    first = client.get("/v1/articles?page_size=2&therapy=iv-ketamine").json()
    assert {k: first["meta"][k] for k in ("total", "page", "page_size", "total_is_estimate")} == {
        "total": 1,
        "page": 1,
        "page_size": 2,
        "total_is_estimate": False,
    }
    body = client.get("/v1/articles?page_size=2").json()
    assert len(body["data"]) == 2
    assert body["links"]["next"] == "/v1/articles?page_size=2&page=2"
    assert body["links"]["prev"] is None
    second = client.get(body["links"]["next"]).json()
    assert len(second["data"]) == 1 and second["links"]["next"] is None
    assert second["links"]["prev"] == "/v1/articles?page_size=2&page=1"
    assert {a["slug"] for a in body["data"] + second["data"]} == {
        "nad-plus-iv-therapy",
        "stellate-ganglion-block-for-ptsd",
        "iv-ketamine-for-ptsd",
    }


def test_page_links_keep_every_value_of_a_repeated_filter(client):
    """`therapy=a&therapy=b` means either: the next page must ask for both again."""
    query = "therapy=iv-ketamine&therapy=nad-plus&page_size=1"
    body = client.get(f"/v1/articles?{query}").json()
    assert body["meta"]["total"] == 2
    for name in ("self", "first", "last", "next"):
        assert "therapy=iv-ketamine&therapy=nad-plus" in body["links"][name], name
    second = client.get(body["links"]["next"]).json()
    assert len(second["data"]) == 1
    assert {body["data"][0]["slug"], second["data"][0]["slug"]} == {
        "iv-ketamine-for-ptsd",
        "nad-plus-iv-therapy",
    }
    beyond = client.get("/v1/articles?page=9").json()
    assert beyond["data"] == [] and beyond["meta"]["total"] == 3


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page_size=101", "query.page_size"),
        ("page_size=0", "query.page_size"),
        ("page=0", "query.page"),
        ("page=abc", "query.page"),
        ("page=100000000000000000000", "query.page"),
        ("therapy=Not%20A%20Slug", "query.therapy.0"),
        ("therapy=ptsd&therapy=Not%20A%20Slug", "query.therapy.1"),
        ("locale=english", "query.locale"),
        ("q=" + "x" * 201, "query.q"),
    ],
)
def test_bad_list_parameters_are_422_problems(client, query, field):
    r = client.get(f"/v1/articles?{query}")
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == 422 and body["code"] == "validation_failed"
    assert [e["field"] for e in body["errors"]] == [field]
