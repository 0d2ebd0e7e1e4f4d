"""Staff access to leads: scoped keys, filters, cursor pages, status, export, erasure, audit."""

import csv
import io
import uuid

import pytest

from tests.conftest import lead_body

OPEN = {"leads_rate_limit": "none"}
BASE = "/v1/admin/consultation-requests"


@pytest.fixture
def staff(make_client, issue_key):
    """A client, a reader's and a writer's auth headers, and three submitted leads."""
    c = make_client(**OPEN)
    reader = {"Authorization": f"Bearer {issue_key('leads:read')}"}
    writer = {"Authorization": f"Bearer {issue_key('leads:read', 'leads:write')}"}
    ids = []
    for changes in (
        {},
        {
            "therapies": ["stellate-ganglion-block"],
            "conditions": ["anxiety"],
            "source": {"article_slug": "stellate-ganglion-block-for-ptsd", "channel": "ios"},
        },
        {"therapies": ["nad-plus"], "conditions": [], "source": {"channel": "android"}},
    ):
        r = c.post("/v1/consultation-requests", json=lead_body(**changes))
        assert r.status_code == 201
        ids.append(r.json()["id"])
    return c, reader, writer, ids


def test_keys_are_required_and_scoped(staff, issue_key):
    c, reader, _, ids = staff
    assert c.get(BASE).status_code == 401
    r = c.get(BASE, headers={"Authorization": "Bearer clk_deadbeef_nope"})
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert r.headers["content-type"] == "application/problem+json"
    assert c.get(BASE, headers={"Authorization": "Basic abc"}).status_code == 401
    content_only = {"Authorization": f"Bearer {issue_key('content:write')}"}
    r = c.get(BASE, headers=content_only)
    assert r.status_code == 403 and r.json()["code"] == "insufficient_scope"
    assert (
        c.patch(f"{BASE}/{ids[0]}", json={"status": "contacted"}, headers=reader).status_code == 403
    )
    assert c.delete(f"{BASE}/{ids[0]}", headers=reader).status_code == 403
    ok = c.get(BASE, headers=reader)
    assert ok.status_code == 200 and ok.headers["cache-control"] == "no-store"


def test_list_filters_and_cursor_pages(staff):
    c, reader, _, ids = staff
    everything = c.get(BASE, headers=reader).json()
    assert [lead["id"] for lead in everything["data"]] == ids[::-1]
    assert everything["data"][0]["email"] == "ana.diaz@example.com"

    def ids_for(query: str) -> list[str]:
        return [lead["id"] for lead in c.get(f"{BASE}?{query}", headers=reader).json()["data"]]

    assert ids_for("therapy=iv-ketamine") == [ids[0]]
    assert ids_for("condition=anxiety") == [ids[1]]
    assert ids_for("article=stellate-ganglion-block-for-ptsd") == [ids[1]]
    assert ids_for("channel=android") == [ids[2]]
    assert ids_for("status=new") == ids[::-1]
    assert ids_for("status=spam") == []
    assert ids_for("created_before=2000-01-01T00:00:00Z") == []
    assert ids_for("created_after=2000-01-01T00:00:00Z") == ids[::-1]
    seen, cursor = [], None
    while True:
        query = "page_size=1" + (f"&cursor={cursor}" if cursor else "")
        page = c.get(f"{BASE}?{query}", headers=reader).json()
        seen += [lead["id"] for lead in page["data"]]
        cursor = page["meta"]["next_cursor"]
        if cursor is None:
            break
        assert page["links"]["next"].startswith(BASE + "?")
    assert seen == ids[::-1]
    bad = c.get(f"{BASE}?cursor=not-a-cursor", headers=reader)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.cursor"
    assert c.get(f"{BASE}?page_size=201", headers=reader).status_code == 422


def test_get_and_status_transitions(staff):
    c, reader, writer, ids = staff
    lead = c.get(f"{BASE}/{ids[0]}", headers=reader).json()
    assert lead["phone"] == "+14155550132" and lead["status"] == "new"
    assert lead["disclaimer_versions"]
    assert c.get(f"{BASE}/{uuid.uuid4()}", headers=reader).status_code == 404
    assert c.get(f"{BASE}/not-a-uuid", headers=reader).status_code == 404
    r = c.patch(f"{BASE}/export.csv", json={}, headers=writer)
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"
    r = c.patch(
        f"{BASE}/{ids[0]}",
        json={"status": "contacted", "notes": "Left a voicemail"},
        headers=writer,
    )
    assert r.status_code == 200 and r.json()["status"] == "contacted"
    assert r.json()["notes"] == "Left a voicemail"
    assert (
        c.patch(f"{BASE}/{ids[0]}", json={"status": "scheduled"}, headers=writer).status_code == 200
    )
    back = c.patch(f"{BASE}/{ids[0]}", json={"status": "new"}, headers=writer)
    assert back.status_code == 409 and back.json()["code"] == "invalid_status_transition"
    assert c.patch(f"{BASE}/{ids[0]}", json={"status": "closed"}, headers=writer).status_code == 200
    assert c.patch(f"{BASE}/{ids[1]}", json={"status": "spam"}, headers=writer).status_code == 200
    assert c.patch(f"{BASE}/{ids[1]}", json={"status": "bogus"}, headers=writer).status_code == 422
    assert c.patch(f"{BASE}/{ids[1]}", json={"owner": "x"}, headers=writer).status_code == 422


def test_csv_export_is_streamed_and_formula_safe(staff):
    c, reader, _, ids = staff
    c.post(
        "/v1/consultation-requests",
        json=lead_body(first_name='=HYPERLINK("http://evil")', message="+1 call me"),
    )
    r = c.get(f"{BASE}/export.csv", headers=reader)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["cache-control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 4
    assert {row["id"] for row in rows} >= set(ids)
    evil = next(row for row in rows if "HYPERLINK" in row["first_name"])
    assert evil["first_name"].startswith("'=") and evil["message"].startswith("'+")
    assert evil["phone"] == "+14155550132"  # a valid E.164 number is left as it is
    only_ios = list(
        csv.DictReader(io.StringIO(c.get(f"{BASE}/export.csv?channel=ios", headers=reader).text))
    )
    assert [row["id"] for row in only_ios] == [ids[1]]


def test_erasure_scrubs_personal_data_and_keeps_a_tombstone(staff):
    c, reader, writer, ids = staff
    assert c.delete(f"{BASE}/{ids[0]}", headers=writer).status_code == 204
    tomb = c.get(f"{BASE}/{ids[0]}", headers=reader).json()
    for field in (
        "first_name",
        "last_name",
        "email",
        "phone",
        "message",
        "preferred_time",
        "client_ip",
        "user_agent",
        "source_article_slug",
        "source_page_url",
        "consent_text",
    ):
        assert tomb[field] is None, field
    assert tomb["therapies"] == [] and tomb["conditions"] == [] and tomb["utm"] == {}
    assert tomb["erased_at"] and tomb["id"] == ids[0] and tomb["created_at"]
    assert [
        lead["id"] for lead in c.get(f"{BASE}?therapy=iv-ketamine", headers=reader).json()["data"]
    ] == []
    assert c.delete(f"{BASE}/{ids[0]}", headers=writer).status_code == 204
    erased_patch = c.patch(f"{BASE}/{ids[0]}", json={"status": "closed"}, headers=writer)
    assert erased_patch.status_code == 409
    assert ids[0] not in c.get(f"{BASE}/export.csv", headers=reader).text  # left out by default
    export = c.get(f"{BASE}/export.csv?include=erased", headers=reader).text
    assert "Ana" not in export.split(ids[0])[1][:200]  # the tombstone, when asked for
    listed = c.get(f"{BASE}", headers=reader).json()["data"]
    assert ids[0] not in [lead["id"] for lead in listed]
    with_erased = c.get(f"{BASE}?include=erased", headers=reader).json()["data"]
    assert ids[0] in [lead["id"] for lead in with_erased]


def test_spam_is_left_out_of_lists_and_exports_unless_asked_for(staff):
    c, reader, writer, ids = staff
    assert c.patch(f"{BASE}/{ids[1]}", json={"status": "spam"}, headers=writer).status_code == 200

    def listed(query: str = "") -> list[str]:
        r = c.get(f"{BASE}{query}", headers=reader)
        assert r.status_code == 200, r.text
        return [lead["id"] for lead in r.json()["data"]]

    assert ids[1] not in listed()
    assert ids[1] in listed("?include=spam") and ids[1] in listed("?include=spam,erased")
    assert listed("?status=spam") == [ids[1]]
    assert ids[1] not in c.get(f"{BASE}/export.csv", headers=reader).text
    assert ids[1] in c.get(f"{BASE}/export.csv?include=spam", headers=reader).text
    for bad in ("everything", "spam,", "spam;erased", "erased,erased,spam"):
        r = c.get(f"{BASE}?include={bad}", headers=reader)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.include", bad


def test_every_read_change_export_and_erasure_is_audited(staff):
    c, reader, writer, ids = staff
    c.get(f"{BASE}?therapy=iv-ketamine", headers=reader)
    c.get(f"{BASE}/{ids[0]}", headers=reader)
    c.patch(
        f"{BASE}/{ids[0]}", json={"status": "contacted", "notes": "secret note"}, headers=writer
    )
    c.get(f"{BASE}/export.csv?channel=web", headers=reader)
    c.delete(f"{BASE}/{ids[1]}", headers=writer)
    r = c.get("/v1/admin/audit", headers=reader)
    assert r.status_code == 200
    entries = r.json()["data"]
    actions = [e["action"] for e in entries]
    assert actions == ["lead.erase", "lead.export", "lead.update", "lead.read", "lead.list"]
    by_action = {e["action"]: e for e in entries}
    assert by_action["lead.list"]["detail"]["filters"] == {"therapy": "iv-ketamine"}
    assert by_action["lead.export"]["detail"]["filters"] == {"channel": "web"}
    assert by_action["lead.read"]["lead_id"] == ids[0]
    assert by_action["lead.update"]["detail"] == {
        "status": {"from": "new", "to": "contacted"},
        "notes": True,
        "personal_data_returned": True,  # the writer also holds leads:read
    }
    assert "secret note" not in r.text and "Ana" not in r.text
    assert all(e["api_key_id"] for e in entries)
    one = c.get(f"/v1/admin/audit?lead_id={ids[0]}&page_size=1", headers=reader).json()
    assert len(one["data"]) == 1 and one["meta"]["next_cursor"]
    rest = c.get(
        f"/v1/admin/audit?lead_id={ids[0]}&cursor={one['meta']['next_cursor']}", headers=reader
    ).json()
    assert [e["action"] for e in one["data"] + rest["data"]] == ["lead.update", "lead.read"]
    assert c.get("/v1/admin/audit").status_code == 401


@pytest.mark.parametrize(
    "when", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00Z"]
)
def test_a_time_at_the_edge_of_the_calendar_is_a_422_or_an_answer_never_a_500(staff, when):
    c, reader, _, _ = staff
    for path in (BASE, f"{BASE}/export.csv"):
        r = c.get(path, params={"created_after": when}, headers=reader)
        assert r.status_code in (200, 422), (path, when, r.status_code)
        if "+14:00" in when or "-14:00" in when:
            assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.created_after"
