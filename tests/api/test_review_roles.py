"""Reviews that vouch for different things: a second specialty's medical sign-off, and a
translation's faithfulness. A translation is published only with both kinds, and every
sign-off that stands is shown (both backends)."""

from tests.editorial_helpers import ARTICLES, Desk, article_body

SPANISH = {
    "slug": "preguntas-sobre-nad",
    "locale": "es",
    "translation_of": "nad-plus-questions",
    "title": "Infusiones de NAD+: preguntas frecuentes",
    "summary": "Lo que se sabe y lo que no sobre las infusiones de NAD+.",
    "call_to_action": {
        "heading": "¿Preguntas?",
        "text": "Solicite una consulta.",
        "button_label": "Solicitar una consulta",
        "url": "/es/consulta?articulo=preguntas-sobre-nad",
    },
}


def _published_english(desk: Desk) -> None:
    english = desk.create()
    assert desk.approve(english["id"], 1).status_code == 201
    assert desk.publish(english["id"], 1).status_code == 200


def test_a_translation_needs_a_translation_review_before_it_is_published(desk: Desk):
    _published_english(desk)
    spanish = desk.create(**SPANISH)
    assert desk.approve(spanish["id"], 1).status_code == 201  # Ana: the medical content
    refused = desk.publish(spanish["id"], 1)
    assert refused.status_code == 409
    assert refused.json()["unmet_requirements"] == [
        "approval: a translation of 'nad-plus-questions' needs a translation review "
        "(an approval with role 'translation')"
    ]
    ben = desk.client.post(
        f"{ARTICLES}/{spanish['id']}/revisions/1/approvals",
        json={"role": "translation", "note": "Leído frente a la versión en inglés."},
        headers=desk.second,
    )
    assert ben.status_code == 201 and ben.json()["role"] == "translation"
    assert desk.publish(spanish["id"], 1).status_code == 200
    public = desk.client.get("/v1/articles/preguntas-sobre-nad", params={"locale": "es"}).json()
    review = public["medical_review"]
    assert review["reviewer"]["name"] == "Ana Ruiz"  # the medical approver
    assert [(s["role"], s["reviewer"]["name"]) for s in review["reviewers"]] == [
        ("medical", "Ana Ruiz"),
        ("translation", "Ben Okafor"),
    ]
    # Only the medical reviewer is told to search engines as the page's reviewer.
    assert public["json_ld"]["reviewedBy"]["name"] == "Ana Ruiz"


def test_a_second_specialty_signs_off_too_and_a_request_for_changes_withdraws_its_role(
    desk: Desk,
):
    article = desk.create()
    assert desk.approve(article["id"], 1).status_code == 201
    second = desk.client.post(
        f"{ARTICLES}/{article['id']}/revisions/1/approvals", json={}, headers=desk.second
    )
    assert second.status_code == 201 and second.json()["role"] == "medical"
    assert desk.publish(article["id"], 1).status_code == 200
    shown = desk.client.get("/v1/articles/nad-plus-questions").json()["medical_review"]
    assert [s["reviewer"]["name"] for s in shown["reviewers"]] == ["Ana Ruiz", "Ben Okafor"]
    assert shown["reviewer"]["name"] == "Ben Okafor"  # the newest medical approval
    # A translation reviewer's request for changes touches only translation sign-offs.
    asked = desk.client.post(
        f"{ARTICLES}/{article['id']}/revisions/1/rejections",
        json={"note": "Not a translation.", "role": "translation"},
        headers=desk.reviewer,
    )
    assert asked.status_code == 201 and asked.json()["role"] == "translation"
    assert desk.publish(article["id"], 1).status_code == 200
    # A medical request for changes withdraws every medical sign-off of this content.
    asked = desk.client.post(
        f"{ARTICLES}/{article['id']}/revisions/1/rejections",
        json={"note": "Cite the dose."},
        headers=desk.second,
    )
    assert asked.status_code == 201
    again = desk.publish(article["id"], 1)
    assert again.status_code == 409
    assert any(
        u.startswith("approval: no reviewer has approved")
        for u in again.json()["unmet_requirements"]
    )


def test_an_unknown_role_is_a_422(desk: Desk):
    article = desk.create()
    answer = desk.approve(article["id"], 1, role="legal")
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "body.role"


def test_a_reference_is_read_on_a_day_written_as_a_date_never_a_number(desk: Desk):
    body = article_body()
    for bad in (0, 1.5, True, "20261207", "2026-12-07T00:00:00Z"):
        body["references"][0]["accessed"] = bad
        answer = desk.client.post(ARTICLES, json=body, headers=desk.writer)
        assert answer.status_code == 422, bad
        assert answer.json()["errors"][0]["field"] == "body.references.0.accessed"
    body["references"][0]["accessed"] = "2026-12-07"
    created = desk.client.post(ARTICLES, json=body, headers=desk.writer)
    assert created.status_code == 201
    shown = desk.client.get(f"{ARTICLES}/{created.json()['id']}", headers=desk.writer).json()
    assert shown["content"]["references"][0]["accessed"] == "2026-12-07"
