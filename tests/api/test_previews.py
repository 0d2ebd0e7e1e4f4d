"""Draft preview: a signed, expiring token shows a draft to its holder, never to a cache."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import Session, select

from db.lead_models import AuditEntry
from db.session import unit_of_work
from services.content import previews

DRAFT = "ketamine-for-chronic-pain"
PUBLISHED = "iv-ketamine-for-ptsd"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def editor(make_client, issue_key):
    """A client and the headers of a `content:write` key."""
    return make_client(), _auth(issue_key("content:write", name="editor"))


def _token(c, headers, slug: str = DRAFT, **body: object) -> str:
    r = c.post("/v1/admin/previews", json={"slug": slug, **body}, headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["token"])


def test_a_preview_shows_the_draft_privately(editor, seeded):
    c, headers = editor
    before = datetime.now(UTC)
    r = c.post("/v1/admin/previews", json={"slug": DRAFT}, headers=headers)
    assert r.status_code == 201
    after = datetime.now(UTC)
    body = r.json()
    assert set(body) == {"token", "url", "expires_at"}
    expires = datetime.fromisoformat(body["expires_at"])  # one hour, in whole seconds
    assert before.replace(microsecond=0) + timedelta(hours=1) <= expires
    assert expires <= after + timedelta(hours=1)
    url = urlsplit(body["url"])
    assert url.path == f"/v1/articles/{DRAFT}"
    assert parse_qs(url.query) == {"locale": ["en"], "preview": [body["token"]]}
    shown = c.get(f"{url.path}?{url.query}")
    assert shown.status_code == 200
    assert shown.json()["slug"] == DRAFT and shown.json()["published_at"] is None
    assert shown.headers["cache-control"] == "private, no-store"
    assert "etag" not in shown.headers
    assert c.get(f"/v1/articles/{DRAFT}").status_code == 404  # still no draft without it
    cache = c.app.state.response_cache
    assert not [k for k, _ in cache.held() if DRAFT in k]
    engine = seeded.engine()
    with Session(engine) as s:
        entry = s.exec(
            select(AuditEntry).where(AuditEntry.action == "article_preview.create")
        ).one()
    engine.dispose()
    assert entry.api_key_id is not None
    assert entry.detail["slug"] == DRAFT and entry.detail["locale"] == "en"
    assert body["token"] not in str(entry.detail)  # the audit names the token, never holds it


def test_a_preview_of_a_published_article_is_private_too(editor):
    c, headers = editor
    token = _token(c, headers, PUBLISHED, expires_in=60)
    r = c.get(f"/v1/articles/{PUBLISHED}?preview={token}&format=html")
    assert r.status_code == 200 and r.headers["cache-control"] == "private, no-store"
    assert {"html"} == set(r.json()["sections"][0]) & {"html", "markdown", "text"}
    public = c.get(f"/v1/articles/{PUBLISHED}")
    assert public.headers["cache-control"].startswith("public") and public.headers["etag"]


def test_wrong_tampered_foreign_or_expired_tokens_are_401(editor, seeded):
    c, headers = editor
    token = _token(c, headers)
    version, payload, mac = token.split(".")
    flipped = mac[:-2] + ("A" if mac[-2] != "A" else "B") + mac[-1]
    other = _token(c, headers, PUBLISHED)
    engine = seeded.engine()
    with unit_of_work(engine) as session:
        expired = previews.create(
            session=session,
            ring=c.app.state.key_ring,
            actor=None,
            slug=DRAFT,
            locale="en",
            expires_in=timedelta(minutes=1),
            now=datetime.now(UTC) - timedelta(hours=1),
        ).token
    engine.dispose()
    cases = {
        "nonsense": "invalid_preview_token",
        f"{version}.{payload}.{flipped}": "invalid_preview_token",
        f"{version}.{other.split('.')[1]}.{mac}": "invalid_preview_token",
        other: "invalid_preview_token",  # signed, but for another article
        expired: "preview_token_expired",
    }
    for sent, code in cases.items():
        r = c.get(f"/v1/articles/{DRAFT}?preview={sent}")
        assert r.status_code == 401, sent
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == code
    assert c.get(f"/v1/articles/{DRAFT}?preview={token}&locale=es").status_code == 401
    assert c.get(f"/v1/articles/{DRAFT}?preview=bad%20token").status_code == 422


def test_a_token_signed_under_another_master_key_is_refused(make_client, issue_key):
    key = "A" * 43 + "="
    signer = make_client(data_key=key)
    token = _token(signer, _auth(issue_key("content:write")))
    other = make_client()  # the default key of the test settings
    assert other.get(f"/v1/articles/{DRAFT}?preview={token}").status_code == 401
    assert signer.get(f"/v1/articles/{DRAFT}?preview={token}").status_code == 200
    # During a rotation, tokens signed under the previous key still open the draft.
    rotated = make_client(data_key="B" * 43 + "=", data_key_previous=[key])
    assert rotated.get(f"/v1/articles/{DRAFT}?preview={token}").status_code == 200


def test_creating_a_preview_needs_content_write(make_client, issue_key):
    c = make_client()
    body = {"slug": DRAFT}
    assert c.post("/v1/admin/previews", json=body).status_code == 401
    reader = _auth(issue_key("leads:read"))
    r = c.post("/v1/admin/previews", json=body, headers=reader)
    assert r.status_code == 403 and r.json()["code"] == "insufficient_scope"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"slug": "no-such-article"}, 404, None),
        ({"slug": DRAFT, "locale": "es"}, 404, None),
        ({"slug": DRAFT, "expires_in": 59}, 422, "body.expires_in"),
        ({"slug": DRAFT, "expires_in": 7 * 86400 + 1}, 422, "body.expires_in"),
        ({"slug": DRAFT, "expires_in": "3600"}, 422, "body.expires_in"),
        ({"slug": DRAFT, "expires_in": True}, 422, "body.expires_in"),
        ({"slug": "Not A Slug"}, 422, "body.slug"),
        ({"slug": DRAFT, "locale": "english"}, 422, "body.locale"),
        ({"slug": DRAFT, "extra": 1}, 422, "body.extra"),
    ],
)
def test_bad_preview_requests(editor, body, status, field):
    c, headers = editor
    r = c.post("/v1/admin/previews", json=body, headers=headers)
    assert r.status_code == status, r.text
    if field:
        assert field in [e["field"] for e in r.json()["errors"]]
    else:
        assert r.json()["code"] == "article_not_found"


def test_the_longest_preview_is_a_week(editor):
    c, headers = editor
    r = c.post("/v1/admin/previews", json={"slug": DRAFT, "expires_in": 7 * 86400}, headers=headers)
    expires = datetime.fromisoformat(r.json()["expires_at"])
    assert timedelta(days=6, hours=23) < expires - datetime.now(UTC) <= timedelta(days=7)


def test_expires_in_is_a_whole_number_however_json_writes_it(make_client, issue_key):
    c = make_client()
    editor = {"Authorization": f"Bearer {issue_key('content:write')}"}
    body = {"slug": "ketamine-for-chronic-pain", "locale": "en"}
    written_as_float = c.post(
        "/v1/admin/previews", json={**body, "expires_in": 600.0}, headers=editor
    )
    assert written_as_float.status_code == 201
    for bad in (600.5, "600", True):
        refused = c.post("/v1/admin/previews", json={**body, "expires_in": bad}, headers=editor)
        assert refused.status_code == 422, bad
