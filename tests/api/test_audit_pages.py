"""The audit list pages through a filtered list without losing the filter."""

from typing import Any

from tests.conftest import lead_body

BASE = "/v1/admin/consultation-requests"


def test_next_links_keep_the_lead_filter(make_client, issue_key):
    c = make_client(leads_rate_limit="none")
    reader = {"Authorization": f"Bearer {issue_key('leads:read')}"}
    mine, other = (c.post("/v1/consultation-requests", json=lead_body()).json()["id"] for _ in "ab")
    for lead_id in (mine, other, mine, other, mine):
        assert c.get(f"{BASE}/{lead_id}", headers=reader).status_code == 200
    seen: list[dict[str, Any]] = []
    url: str | None = f"/v1/admin/audit?lead_id={mine}&page_size=2"
    while url:
        page = c.get(url, headers=reader).json()
        seen += page["data"]
        url = page["links"]["next"]
        if url:
            assert f"lead_id={mine}" in url and "page_size=2" in url
    assert len(seen) == 3 and {e["lead_id"] for e in seen} == {mine}
    assert [e["id"] for e in seen] == sorted((e["id"] for e in seen), reverse=True)


def test_the_audit_cursor_is_opaque_like_every_admin_cursor(make_client, issue_key):
    """One cursor style for admin lists: an opaque string from `meta.next_cursor`, checked by
    its pattern (a raw row id is no longer one)."""
    c = make_client(leads_rate_limit="none")
    reader = {"Authorization": f"Bearer {issue_key('leads:read')}"}
    lead = c.post("/v1/consultation-requests", json=lead_body()).json()["id"]
    for _ in range(3):
        assert c.get(f"{BASE}/{lead}", headers=reader).status_code == 200
    first = c.get("/v1/admin/audit?page_size=1", headers=reader).json()
    cursor = first["meta"]["next_cursor"]
    assert isinstance(cursor, str) and len(cursor) == 16
    second = c.get(f"/v1/admin/audit?page_size=1&cursor={cursor}", headers=reader).json()
    assert second["data"][0]["id"] < first["data"][0]["id"]
    # A well-formed cursor past every 32-bit id (as a fuzzer sends): the newest page.
    beyond = c.get("/v1/admin/audit?page_size=1&cursor=7fffffffffffffff", headers=reader)
    assert beyond.status_code == 200 and beyond.json()["data"] == first["data"]
    for bad in ("5", "x" * 16, "8" + "0" * 15):
        r = c.get(f"/v1/admin/audit?cursor={bad}", headers=reader)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.cursor"
