"""The editorial workflow over HTTP: drafts and revisions with If-Match, diffs and restores,
reviews bound to one revision's content, and publishing under the policy."""

import uuid
from datetime import UTC, datetime

from sqlmodel import Session, col, select

from db.lead_models import AuditEntry
from db.models import ContentChange
from db.webhook_models import WebhookEvent
from services.content import editorial, publishing
from tests.editorial_helpers import ARTICLES, Desk, article_body
from tests.waiting import eventually


def test_create_answers_201_with_revision_1_and_an_etag(desk: Desk):
    created = desk.create()
    assert created["revision"] == 1 and created["status"] == "draft"
    assert created["etag"] == '"r1"'
    assert created["published_revision"] is None
    assert created["content"]["sections"][2]["kind"] == "safety"
    assert any("approval" in u for u in created["unmet_requirements"])
    read = desk.client.get(f"{ARTICLES}/{created['id']}", headers=desk.reviewer)
    assert read.status_code == 200 and read.headers["etag"] == '"r1"'
    again = desk.client.post(ARTICLES, json=article_body(), headers=desk.writer)
    assert again.status_code == 409 and again.json()["code"] == "article_exists"


def test_the_file_rules_refuse_a_draft_naming_the_field(desk: Desk):
    body = article_body()
    body["sections"][1]["markdown"] = "As shown [@nobody2020]."
    body["therapies"] = ["nad-plus", "reiki"]
    answer = desk.client.post(ARTICLES, json=body, headers=desk.writer)
    assert answer.status_code == 422
    errors = {e["field"]: e["message"] for e in answer.json()["errors"]}
    assert errors["body.sections.1"] == "cites unknown reference 'nobody2020'"
    assert errors["body.therapies"] == "unknown therapy slug 'reiki'"
    dup = article_body()
    dup["sections"][1]["key"] = "overview"
    answer = desk.client.post(ARTICLES, json=dup, headers=desk.writer)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "body.sections.0"
    for hostile in ({"title": "A\x00B"}, {"summary": "x" * 1001}, {"extra": 1}):
        answer = desk.client.post(ARTICLES, json=article_body(**hostile), headers=desk.writer)
        assert answer.status_code == 422, hostile
    link = article_body()
    link["call_to_action"]["url"] = "javascript:alert(1)"
    assert desk.client.post(ARTICLES, json=link, headers=desk.writer).status_code == 422
    listed = desk.client.get(ARTICLES, params={"q": "NAD+ infusions"}, headers=desk.writer)
    assert listed.json()["meta"]["total"] == 0, "nothing refused was stored"


def test_put_needs_the_current_etag(desk: Desk):
    article = desk.create()
    missing = desk.put(article, None, title="Retitled")
    assert missing.status_code == 428 and missing.json()["code"] == "if_match_required"
    stale = desk.put(article, '"r7"', title="Retitled")
    assert stale.status_code == 412 and stale.json()["code"] == "etag_mismatch"
    weak = desk.put(article, 'W/"r1"', title="Retitled")
    assert weak.status_code == 412
    ok = desk.put(article, '"r1"', title="Retitled")
    assert ok.status_code == 200 and ok.json()["revision"] == 2 and ok.headers["etag"] == '"r2"'
    assert desk.put(article, '"r1"', title="Again").status_code == 412
    same = desk.put(article, '"r2"', title="Retitled")
    assert same.status_code == 200 and same.json()["revision"] == 2, "no change, no revision"
    moved = desk.put(article, '"r2"', slug="another-slug")
    assert moved.status_code == 422 and moved.json()["errors"][0]["field"] == "body.slug"


def test_revisions_diff_and_restore(desk: Desk):
    article = desk.create()
    base = f"{ARTICLES}/{article['id']}"
    body = article_body()
    body["sections"][2]["markdown"] = "A fast infusion may cause chest tightness [@grant2019]."
    body["sections"].append(
        {"key": "faq", "kind": "faq", "heading": "FAQ", "markdown": "Ask your clinician."}
    )
    changed = desk.client.put(base, json=body, headers={**desk.writer, "If-Match": '"r1"'})
    assert changed.status_code == 200
    history = desk.client.get(f"{base}/revisions", headers=desk.reviewer).json()["items"]
    assert [r["revision"] for r in history] == [2, 1]
    assert (
        history[0]["source"] == "http" and history[0]["content_hash"] != history[1]["content_hash"]
    )
    one = desk.client.get(f"{base}/revisions/1", headers=desk.reviewer).json()
    assert one["content"]["sections"][2]["markdown"].startswith(
        "A fast infusion may cause flushing"
    )
    diff = desk.client.get(f"{base}/revisions/2/diff", params={"against": 1}, headers=desk.writer)
    assert diff.status_code == 200
    changes = {(c["kind"], c["key"]): c for c in diff.json()["changes"]}
    assert set(changes) == {("section", "safety"), ("section", "faq")}
    assert changes[("section", "faq")]["status"] == "added"
    safety = changes[("section", "safety")]["diff"]
    assert (
        "-A fast infusion may cause flushing" in safety
        and "+A fast infusion may cause chest" in safety
    )
    restored = desk.client.post(f"{base}/revisions/1/restore", headers=desk.writer)
    assert restored.status_code == 200 and restored.json()["revision"] == 3
    assert restored.json()["content_hash"] == one["content_hash"]
    assert desk.client.get(f"{base}/revisions/9", headers=desk.writer).status_code == 404
    assert desk.client.get(f"{base}/revisions/99999999999", headers=desk.writer).status_code == 422


def test_reviews_bind_one_revision_and_its_author_cannot_approve(desk, issue_key, add_reviewer):
    article = desk.create()
    own = desk.client.post(
        f"{ARTICLES}/{article['id']}/revisions/1/approvals", json={}, headers=desk.writer
    )
    assert own.status_code == 403, "a writer's key is not a reviewer's"
    carla = add_reviewer("Carla Diaz", credentials="NP", specialty="Psychiatry")
    both = {
        "Authorization": f"Bearer {issue_key('content:write', 'content:review', reviewer=carla)}"
    }
    written = desk.client.put(
        f"{ARTICLES}/{article['id']}",
        json=article_body(title="Carla's edit"),
        headers={**both, "If-Match": '"r1"'},
    )
    assert written.status_code == 200
    same_key = desk.client.post(
        f"{ARTICLES}/{article['id']}/revisions/2/approvals", json={}, headers=both
    )
    assert same_key.status_code == 403 and same_key.json()["code"] == "own_revision"
    carla_again = {"Authorization": f"Bearer {issue_key('content:review', reviewer=carla)}"}
    same_reviewer = desk.client.post(
        f"{ARTICLES}/{article['id']}/revisions/2/approvals", json={}, headers=carla_again
    )
    assert same_reviewer.status_code == 403
    approved = desk.approve(article["id"], 2, note="Checked against the sources.")
    assert approved.status_code == 201
    record = approved.json()
    assert record["reviewer"]["name"] == "Ana Ruiz" and record["revision"] == 2
    assert record["next_review_due"] > record["decided_at"][:10]
    # A new revision is not approved by the approval of the one before.
    third = desk.client.put(
        f"{ARTICLES}/{article['id']}",
        json=article_body(title="Third"),
        headers={**desk.writer, "If-Match": '"r2"'},
    ).json()
    assert third["revision"] == 3 and third["reviews"] == []
    refused = desk.publish(article["id"], 3)
    assert refused.status_code == 409
    assert any(u.startswith("approval:") for u in refused.json()["unmet_requirements"])
    rejected = desk.client.post(
        f"{ARTICLES}/{article['id']}/revisions/2/rejections",
        json={"note": "The safety section must name the fast-infusion source."},
        headers=desk.second,
    )
    assert rejected.status_code == 201 and rejected.json()["decision"] == "changes_requested"
    withdrawn = desk.publish(article["id"], 2)
    assert withdrawn.status_code == 409, "a later request for changes withdraws the approval"
    no_note = desk.client.post(
        f"{ARTICLES}/{article['id']}/revisions/2/rejections", json={}, headers=desk.second
    )
    assert no_note.status_code == 422


def test_publish_is_public_with_the_reviewers_record_and_announced(desk: Desk, seeded):
    article = desk.create()
    assert desk.approve(article["id"], 1).status_code == 201
    published = desk.publish(article["id"], 1)
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "published" and published.json()["published_revision"] == 1
    public = desk.client.get("/v1/articles/nad-plus-questions")
    assert public.status_code == 200
    review = public.json()["medical_review"]
    assert review["reviewer"]["name"] == "Ana Ruiz" and review["reviewer"]["credentials"] == "MD"
    assert review["reviewed_at"] is not None and review["next_review_due"] is not None
    groups = public.json()["disclaimers"]
    keys = [d["key"] for d in groups["top"] + groups["bottom"]]
    assert "not-fda-approved" in keys and "risks-and-benefits" in keys
    reviewed_by = public.json()["json_ld"]["reviewedBy"]
    assert reviewed_by["name"] == "Ana Ruiz"
    assert public.json()["json_ld"]["lastReviewed"] == review["reviewed_at"]

    # An edit waits: the public keeps revision 1 until revision 2 is approved and published.
    edited = desk.put(published.json(), '"r1"', title="NAD+ infusions: questions answered")
    assert edited.json()["revision"] == 2 and edited.json()["published_revision"] == 1
    assert desk.client.get("/v1/articles/nad-plus-questions").json()["title"] == (
        "NAD+ infusions: common questions"
    )
    assert desk.approve(article["id"], 2).status_code == 201
    assert desk.publish(article["id"], 2).status_code == 200
    # Every process's response cache follows the content version, as after an import.
    eventually(
        lambda: (
            desk.client.get("/v1/articles/nad-plus-questions").json()["title"]
            == "NAD+ infusions: questions answered"
        ),
        what="for the published edit",
    )

    down = desk.client.post(f"{ARTICLES}/{article['id']}/unpublish", headers=desk.writer)
    assert down.status_code == 200 and down.json()["status"] == "draft"
    eventually(lambda: desk.client.get("/v1/articles/nad-plus-questions").status_code == 404)
    again = desk.client.post(f"{ARTICLES}/{article['id']}/unpublish", headers=desk.writer)
    assert again.status_code == 409
    archived = desk.client.post(f"{ARTICLES}/{article['id']}/archive", headers=desk.writer)
    assert archived.status_code == 200 and archived.json()["status"] == "archived"

    engine = seeded.engine()
    try:
        with Session(engine) as s:
            feed = s.exec(
                select(ContentChange.type, ContentChange.revision)
                .where(ContentChange.slug == "nad-plus-questions")
                .order_by(col(ContentChange.id))
            ).all()
            events = s.exec(
                select(WebhookEvent.type)
                .where(WebhookEvent.subject_id == article["id"])
                .order_by(col(WebhookEvent.created_at))
            ).all()
            actions = s.exec(select(AuditEntry.action).order_by(col(AuditEntry.id))).all()
    finally:
        engine.dispose()
    assert feed == [
        ("article.published", 1),
        ("article.updated", 2),
        ("article.unpublished", 2),
    ]
    assert list(events) == ["article.published", "article.updated", "article.unpublished"]
    for action in ("article.revision.create", "article.approve", "article.publish",
                   "article.unpublish", "article.archive"):  # fmt: skip
        assert action in actions


def test_publish_lists_every_unmet_requirement(desk: Desk):
    body = article_body()
    body["sections"] = [body["sections"][0]]
    body["references"] = [body["references"][0]]
    article = desk.create(sections=body["sections"], references=body["references"])
    assert desk.approve(article["id"], 1).status_code == 201
    refused = desk.publish(article["id"], 1)
    assert refused.status_code == 409
    unmet = refused.json()["unmet_requirements"]
    assert any("at least 3 references with a DOI or PMID (has 1)" in u for u in unmet)
    assert any("a section of kind 'safety'" in u for u in unmet)
    assert desk.client.get("/v1/articles/nad-plus-questions").status_code == 404


def test_production_refuses_a_placeholder_approver(make_client, issue_key, add_reviewer, seeded):
    dummy = add_reviewer("Dr. Demo", placeholder=True)
    client = make_client()
    writer = {"Authorization": f"Bearer {issue_key('content:write')}"}
    review = {"Authorization": f"Bearer {issue_key('content:review', reviewer=dummy)}"}
    article = client.post(ARTICLES, json=article_body(), headers=writer).json()
    approval = client.post(
        f"{ARTICLES}/{article['id']}/revisions/1/approvals", json={}, headers=review
    )
    assert approval.status_code == 201
    read = client.get(f"{ARTICLES}/{article['id']}", headers=writer).json()
    assert read["unmet_requirements"] == [], "development publishes on a placeholder"
    # Production (CLINIC_ENV=production, which needs PostgreSQL and more to start) asks this:
    engine = seeded.engine()
    try:
        with Session(engine) as s:
            stored = editorial.get(s, uuid.UUID(article["id"]))
            row = editorial.revision_row(s, stored, 1)
            unmet = publishing.requirements(s, stored, row, production=True)
    finally:
        engine.dispose()
    assert unmet == ["approval: 'Dr. Demo' is a placeholder reviewer (production)"]


WRITE, REVIEW = ("content:write",), ("content:review",)
EITHER = ("content:write", "content:review")
# Every editorial operation: the scopes that may call it (any one of them).
EDITORIAL_SCOPES = {
    "create_article": WRITE,
    "list_admin_articles": EITHER,
    "get_admin_article": EITHER,
    "update_article": WRITE,
    "list_article_revisions": EITHER,
    "get_article_revision": EITHER,
    "diff_article_revisions": EITHER,
    "restore_article_revision": WRITE,
    "approve_article_revision": REVIEW,
    "reject_article_revision": REVIEW,
    "publish_article": WRITE,
    "unpublish_article": WRITE,
    "archive_article": WRITE,
}
# The media library sits beside them.
MEDIA_SCOPES = {"upload_media": WRITE, "list_media": EITHER}


def test_every_editorial_operation_names_its_scopes(client):
    spec = client.get("/openapi.json").json()
    found = {
        op["operationId"]: op["security"]
        for path, ops in spec["paths"].items()
        if path.startswith((ARTICLES, "/v1/admin/media"))
        for op in ops.values()
        if isinstance(op, dict) and "operationId" in op
    }
    table = {**EDITORIAL_SCOPES, **MEDIA_SCOPES}
    assert set(found) == set(table)
    for name, security in found.items():
        assert security == [{"ApiKey": list(table[name])}], name


def test_roles_are_scopes(desk: Desk):
    article = desk.create()
    for method, path, body in (
        ("POST", ARTICLES, article_body(slug="other")),
        ("PUT", f"{ARTICLES}/{article['id']}", article_body()),
        ("POST", f"{ARTICLES}/{article['id']}/publish", {"revision": 1}),
        ("POST", f"{ARTICLES}/{article['id']}/archive", None),
        ("POST", f"{ARTICLES}/{article['id']}/revisions/1/restore", None),
    ):
        answer = desk.client.request(method, path, json=body, headers=desk.reviewer)
        assert answer.status_code == 403, (method, path)
    assert desk.client.get(f"{ARTICLES}/{article['id']}", headers=desk.reviewer).status_code == 200


def test_an_article_may_be_larger_than_a_lead(desk: Desk):
    body = article_body()
    for section in body["sections"]:
        section["markdown"] += "\n\n" + "Words of a long section. " * 1000  # ~25 KB each
    big = desk.client.post(ARTICLES, json=body, headers=desk.writer)
    assert big.status_code == 201, big.text  # ~75 KB: over the 16 KiB a lead may send
    lead = desk.client.post("/v1/consultation-requests", content=b"{" + b" " * 20_000 + b"}",
                            headers={"Content-Type": "application/json"})  # fmt: skip
    assert lead.status_code == 413
    # A keyed request may send up to an image upload's cap; an article's fields bound the rest.
    long = desk.client.post(ARTICLES, json=article_body(title="x" * 1_100_000), headers=desk.writer)
    assert long.status_code == 422 and long.json()["errors"][0]["field"] == "body.title"
    huge = desk.client.post(
        ARTICLES,
        content=b'{"title": "' + b"x" * (16 * 1024 * 1024) + b'"}',
        headers={**desk.writer, "Content-Type": "application/json"},
    )
    assert huge.status_code == 413 and huge.json()["code"] == "payload_too_large"


def test_a_restore_does_not_let_the_author_approve_their_own_words(desk, issue_key, add_reviewer):
    carla = add_reviewer("Carla Diaz", credentials="NP", specialty="Psychiatry")
    both = {
        "Authorization": f"Bearer {issue_key('content:write', 'content:review', reviewer=carla)}"
    }
    article = desk.create()
    base = f"{ARTICLES}/{article['id']}"
    mine = desk.client.put(
        base, json=article_body(title="Carla's words"), headers={**both, "If-Match": '"r1"'}
    )
    assert mine.json()["revision"] == 2
    assert desk.put(article, '"r2"', title="The editor's words").json()["revision"] == 3
    restored = desk.client.post(f"{base}/revisions/2/restore", headers=desk.writer)
    assert restored.json()["revision"] == 4  # written by the editor, holding Carla's words
    refused = desk.client.post(f"{base}/revisions/4/approvals", json={}, headers=both)
    assert refused.status_code == 403 and refused.json()["code"] == "own_revision"


def test_review_and_publish_inputs_are_bounded(desk: Desk):
    article = desk.create()
    base = f"{ARTICLES}/{article['id']}"
    past = desk.approve(article["id"], 1, next_review_due="2020-01-01")
    assert past.status_code == 422 and past.json()["errors"][0]["field"] == "body.next_review_due"
    for revision in (0, 2**31, 2**63):
        answer = desk.client.post(
            f"{base}/publish", json={"revision": revision}, headers=desk.writer
        )
        assert answer.status_code == 422, revision
    assert desk.approve(article["id"], 1).status_code == 201
    assert desk.publish(article["id"], 1).status_code == 200
    again = desk.publish(article["id"], 1)
    assert again.status_code == 200 and again.json()["published_revision"] == 1
    feed = desk.client.get("/v1/changes", params={"limit": 200}).json()["data"]
    entries = [e["type"] for e in feed if e["slug"] == "nad-plus-questions"]
    assert entries == ["article.published"], "publishing what is public announces nothing"


def test_unpublishing_a_scheduled_draft_cancels_its_schedule(desk: Desk, seeded):
    first, second = desk.create(), desk.create(slug="nad-plus-more", title="More on NAD+")
    for article in (first, second):
        assert desk.approve(article["id"], 1).status_code == 201
        scheduled = desk.publish(article["id"], 1, at="2030-01-01T00:00:00Z")
        assert scheduled.json()["scheduled"] == {"revision": 1, "at": "2030-01-01T00:00:00Z"}
    cancelled = desk.client.post(f"{ARTICLES}/{first['id']}/unpublish", headers=desk.writer)
    assert cancelled.status_code == 200 and cancelled.json()["scheduled"] is None
    assert cancelled.json()["status"] == "draft"
    engine = seeded.engine()
    try:
        with Session(engine) as s:
            published = publishing.publish_due(
                s, production=False, now=datetime(2030, 1, 1, 0, 0, 1, tzinfo=UTC)
            )
            s.commit()
    finally:
        engine.dispose()
    assert published == 1
    read = desk.client.get(f"{ARTICLES}/{second['id']}", headers=desk.writer).json()
    assert read["status"] == "published" and read["scheduled"] is None
