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
