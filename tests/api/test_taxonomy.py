"""Public therapies, conditions and disclaimers."""


def test_therapies_list_and_detail(client):
    data = client.get("/v1/therapies").json()["data"]
    assert [t["slug"] for t in data] == ["iv-ketamine", "nad-plus", "stellate-ganglion-block"]
    assert {t["slug"]: t["regulatory_status"] for t in data} == {
        "iv-ketamine": "off_label",
        "nad-plus": "not_fda_approved",
        "stellate-ganglion-block": "off_label",
    }
    sgb = client.get("/v1/therapies/stellate-ganglion-block").json()
    assert {a["slug"] for a in sgb["articles"]} == {
        "iv-ketamine-for-ptsd",
        "stellate-ganglion-block-for-ptsd",
    }
    ketamine = client.get("/v1/therapies/iv-ketamine").json()
    assert [a["slug"] for a in ketamine["articles"]] == ["iv-ketamine-for-ptsd"]  # no draft
    r = client.get("/v1/therapies/unknown")
    assert r.status_code == 404 and r.json()["code"] == "therapy_not_found"


def test_conditions_list_and_detail(client):
    data = client.get("/v1/conditions").json()["data"]
    assert [c["slug"] for c in data] == ["anxiety", "chronic-pain", "depression", "ptsd"]
    pain = client.get("/v1/conditions/chronic-pain").json()
    assert pain["articles"] == []  # only the draft discusses it
    ptsd = client.get("/v1/conditions/ptsd").json()
    assert len(ptsd["articles"]) == 2
    assert client.get("/v1/conditions/unknown").json()["code"] == "condition_not_found"


def test_disclaimers_list_carries_rules(client):
    data = {d["key"]: d for d in client.get("/v1/disclaimers").json()["data"]}
    assert set(data) == {
        "fda-off-label",
        "not-fda-approved",
        "risks-and-benefits",
        "crisis-resources",
    }
    assert data["fda-off-label"]["rule"] == {
        "applies_to": "therapies",
        "slugs": ["iv-ketamine", "stellate-ganglion-block"],
    }
    assert data["not-fda-approved"]["rule"] == {"applies_to": "therapies", "slugs": ["nad-plus"]}
    assert data["risks-and-benefits"]["rule"] == {"applies_to": "all", "slugs": []}
    assert data["crisis-resources"]["placement"] == "top"
    assert "988" in data["crisis-resources"]["text"]
