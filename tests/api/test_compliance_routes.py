"""Every route that returns article text carries exactly the disclaimers the compliance policy
requires; a database that lost one withholds the article instead of serving it bare."""

import os
import shutil
import subprocess
import sys
from typing import Any

from sqlmodel import Session, func, select

from core.config import PROJECT_ROOT
from db.lead_models import ConsultationRequest
from db.models import Disclaimer
from db.session import unit_of_work
from services.content import compliance
from tests.conftest import DEMO_CONTENT, lead_body


def _keys(groups: dict[str, list[dict[str, Any]]]) -> set[str]:
    return {d["key"] for group in groups.values() for d in group}


def _policy(client) -> dict[str, set[str]]:
    """What each published article must carry, from the public taxonomy and the policy."""
    statuses = {
        t["slug"]: t["regulatory_status"] for t in client.get("/v1/therapies").json()["data"]
    }
    crisis = {c["slug"]: c["crisis_risk"] for c in client.get("/v1/conditions").json()["data"]}
    out = {}
    for item in client.get("/v1/articles").json()["data"]:
        required = compliance.required(
            therapies=[(t["slug"], statuses[t["slug"]]) for t in item["therapies"]],
            conditions=[(c["slug"], crisis[c["slug"]]) for c in item["conditions"]],
        )
        out[item["slug"]] = {r.key for r in required}
    return out


def test_every_article_section_and_link_carries_exactly_the_required_disclaimers(client):
    expected = _policy(client)
    assert set(expected) == {
        "iv-ketamine-for-ptsd",
        "stellate-ganglion-block-for-ptsd",
        "nad-plus-iv-therapy",
    }
    assert expected["stellate-ganglion-block-for-ptsd"] >= {"fda-off-label", "crisis-resources"}
    assert "not-fda-approved" in expected["nad-plus-iv-therapy"]
    for item in client.get("/v1/articles").json()["data"]:
        assert _keys(item["disclaimers"]) == expected[item["slug"]]
    for slug, keys in expected.items():
        article = client.get(f"/v1/articles/{slug}").json()
        assert _keys(article["disclaimers"]) == keys
        for group in article["disclaimers"].values():
            assert all(d["text"] and d["version"] >= 1 for d in group)
        for section in article["sections"]:
            one = client.get(f"/v1/articles/{slug}/sections/{section['key']}")
            assert one.status_code == 200
            body = one.json()
            assert body["disclaimers"] == article["disclaimers"], (slug, section["key"])
            assert body["html"] == section["html"] and body["article"]["slug"] == slug
    for kind in ("therapies", "conditions"):
        for term in client.get(f"/v1/{kind}").json()["data"]:
            for link in client.get(f"/v1/{kind}/{term['slug']}").json()["articles"]:
                assert _keys(link["disclaimers"]) == expected[link["slug"]]


def test_the_ketamine_article_is_cited_reviewed_and_has_a_safety_section(client):
    article = client.get("/v1/articles/iv-ketamine-for-ptsd").json()
    refs = {r["id"]: r for r in article["references"]}
    assert len(refs) >= 3
    assert refs["feder2014"]["doi"] == "10.1001/jamapsychiatry.2014.62"
    assert refs["abdallah2022"]["url"] == "https://doi.org/10.1038/s41386-022-01266-9"
    assert [r["number"] for r in article["references"]] == list(range(1, len(refs) + 1))
    assert any(s["kind"] == "safety" for s in article["sections"])
    for section in article["sections"]:
        for ref_id in section["citations"]:
            assert ref_id in refs and f'href="#ref-{ref_id}"' in section["html"]
    reviewer = article["medical_review"]["reviewer"]
    assert reviewer["specialty"] == "Psychiatry" and reviewer["placeholder"] is True
    ld = article["json_ld"]
    assert "reviewedBy" not in ld  # a placeholder is never published as a real reviewer
    assert len(ld["citation"]) == len(refs)
    assert ld["medicalAudience"]["audienceType"] == "Patient"
    assert {t["legalStatus"] for t in ld["mainEntity"]} == {
        "Off-label use: FDA-approved for other uses only"
    }
    section = client.get("/v1/articles/iv-ketamine-for-ptsd/sections/fear-extinction").json()
    assert [r["id"] for r in section["references"]] == section["citations"]


def test_a_narrowed_rule_cannot_drop_a_required_disclaimer_at_serve_time(seeded, make_client):
    engine = seeded.engine()
    with unit_of_work(engine) as s:  # as if someone edited the database by hand
        rule = s.exec(
            select(Disclaimer).where(Disclaimer.key == "fda-off-label", Disclaimer.locale == "en")
        ).one()
        rule.rule_slugs = ["iv-ketamine"]
    c = make_client()
    sgb = c.get("/v1/articles/stellate-ganglion-block-for-ptsd").json()
    assert "fda-off-label" in _keys(sgb["disclaimers"])
    with unit_of_work(engine) as s:
        s.exec(
            select(Disclaimer).where(Disclaimer.key == "fda-off-label", Disclaimer.locale == "en")
        ).one().active = False
    engine.dispose()
    c = make_client()
    for path in (
        "/v1/articles/stellate-ganglion-block-for-ptsd",
        "/v1/articles/stellate-ganglion-block-for-ptsd/sections/overview",
        "/v1/articles",
    ):
        r = c.get(path)
        assert r.status_code == 503, path
        assert r.json()["code"] == "article_withheld"
        assert r.headers["content-type"] == "application/problem+json"
    assert c.get("/v1/articles/nad-plus-iv-therapy").status_code == 200  # not concerned


def test_a_lead_records_what_the_form_showed_beside_what_the_article_carried(
    seeded, make_client, issue_key
):
    c = make_client(leads_rate_limit="none")
    shown = c.get("/v1/articles/iv-ketamine-for-ptsd").json()["disclaimers"]
    reported = [{"key": d["key"], "version": d["version"]} for g in shown.values() for d in g]
    source = {"article_slug": "iv-ketamine-for-ptsd", "disclaimers_shown": reported}
    r = c.post("/v1/consultation-requests", json=lead_body(source=source))
    assert r.status_code == 201, r.text
    staff = c.get(
        r.headers["location"], headers={"Authorization": f"Bearer {issue_key('leads:read')}"}
    ).json()
    assert staff["disclaimers_reported"] == reported
    assert {(d["key"], d["version"]) for d in staff["disclaimer_versions"]} == {
        (d["key"], d["version"]) for d in reported
    }
    bad = {**source, "disclaimers_shown": [*reported, {"key": "fda-off-label", "version": 99}]}
    r = c.post("/v1/consultation-requests", json=lead_body(source=bad))
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == [
        f"body.source.disclaimers_shown.{len(reported)}"
    ]
    many = {**source, "disclaimers_shown": reported * 10}
    assert c.post("/v1/consultation-requests", json=lead_body(source=many)).status_code == 422
    engine = seeded.engine()
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(ConsultationRequest)).one() == 1
    engine.dispose()


def test_the_cli_refuses_non_compliant_content_and_writes_nothing(migrated, tmp_path):
    content = shutil.copytree(DEMO_CONTENT, tmp_path / "content")
    rules = content / "disclaimers.yaml"
    rules.write_text(
        rules.read_text().replace("[iv-ketamine, stellate-ganglion-block]", "[iv-ketamine]")
    )
    result = subprocess.run(
        [sys.executable, "-m", "cli", "import-content", "--content-dir", str(content)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "CLINIC_DATABASE_URL": migrated.url},
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "nothing was changed" in result.stderr
    assert (
        "articles/stellate-ganglion-block-for-ptsd.md: disclaimers: lacks required disclaimer "
        "'fda-off-label' (therapy 'stellate-ganglion-block' is off_label)"
    ) in result.stderr
    engine = migrated.engine()
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Disclaimer)).one() == 0
    engine.dispose()
