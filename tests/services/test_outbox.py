"""The outbox is written in the change's own transaction."""

import shutil
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import event
from sqlmodel import Session, func, select

from api.links import event_links_builder
from db.webhook_models import WebhookDelivery, WebhookEvent
from schemas.leads import ConsultationRequestCreate
from schemas.vocabulary import EventType, PayloadMode
from schemas.webhooks import WebhookEndpointCreate
from services.content.events import SETTLE, article_event_type
from services.content.state import VERSION_REFRESH_SECONDS
from services.leads.intake import SubmissionContext, create_lead
from services.webhooks import endpoints
from services.webhooks.payloads import render
from tests.conftest import DEMO_CONTENT, lead_body
from tests.content_helpers import demo_articles, import_folder
from tests.vault_helpers import ring

CTX = SubmissionContext(
    client_ip="192.0.2.1", user_agent="t", default_region="US", default_locale="en"
)


def _endpoint(session, url: str) -> str:
    """Subscribe `url` through the endpoint service; returns its signing secret."""
    _, secret = endpoints.create(
        session=session,
        data=WebhookEndpointCreate(url=url),
        allow_private=True,
        ring=ring(),
        actor=None,
    )
    return secret


def _new_lead(session: Session) -> None:
    """A valid lead created in `session`'s transaction (not committed)."""
    create_lead(
        session=session,
        ring=ring(),
        data=ConsultationRequestCreate.model_validate(lead_body()),
        ctx=CTX,
    )


def _count(engine, model) -> int:
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


def test_a_rolled_back_lead_leaves_no_event(seeded):
    engine = seeded.engine()
    with Session(engine) as s:
        _endpoint(s, "http://127.0.0.1:9/x")
        s.commit()
    events = _count(engine, WebhookEvent)  # the demo import's article events
    with Session(engine) as s:
        _new_lead(s)
        s.flush()
        assert s.exec(select(func.count()).select_from(WebhookEvent)).one() == events + 1
        s.rollback()
    assert _count(engine, WebhookEvent) == events and _count(engine, WebhookDelivery) == 0
    with Session(engine) as s:
        _new_lead(s)
        s.commit()
    assert _count(engine, WebhookEvent) == events + 1 and _count(engine, WebhookDelivery) == 1
    engine.dispose()


def test_import_emits_article_events(migrated, tmp_path: Path):
    content = Path(shutil.copytree(DEMO_CONTENT, tmp_path / "content"))
    engine = migrated.engine()
    import_folder(engine, content)

    def types() -> list[str]:
        with Session(engine) as s:
            return sorted(e.type for e in s.exec(select(WebhookEvent)))

    published = demo_articles(content) - 1  # the draft is not announced
    assert types() == ["article.published"] * published
    import_folder(engine, content)
    assert len(types()) == published  # nothing changed, nothing emitted
    path = content / "articles/nad-plus-iv-therapy.md"
    path.write_text(path.read_text().replace("coenzyme found", "coenzyme present"))
    import_folder(engine, content)
    assert types().count("article.updated") == 1
    (content / "articles/bloqueo-del-ganglio-estrellado-para-tept.md").unlink()
    import_folder(engine, content)
    assert types().count("article.unpublished") == 1
    engine.dispose()


def test_article_events_wait_until_every_process_serves_the_change(migrated, tmp_path: Path):
    """An article event is first due once each API process has re-read the content version
    (every VERSION_REFRESH_SECONDS): a site revalidating on it at once would otherwise read the
    old text from a process's cache (found by the Next.js example's test, 1 run in 3). A lead's
    event goes at once."""
    content = Path(shutil.copytree(DEMO_CONTENT, tmp_path / "content"))
    engine = migrated.engine()
    with Session(engine) as s:
        _endpoint(s, "http://127.0.0.1:9/x")
        s.commit()
    import_folder(engine, content)
    with Session(engine) as s:
        held = [d.next_attempt_at - d.created_at for d in s.exec(select(WebhookDelivery))]
    # Due SETTLE after the commit, not after the write: the import worked on meanwhile.
    assert held and min(held) > SETTLE, held
    assert timedelta(seconds=2 * VERSION_REFRESH_SECONDS) == SETTLE

    path = content / "articles/nad-plus-iv-therapy.md"
    path.write_text(path.read_text().replace("coenzyme found", "coenzyme present"))
    with Session(engine) as s:
        deliveries_before = set(s.exec(select(WebhookDelivery.id)))
    slow = 0.4  # an import that goes on working after its event was written

    def slow_commit(session: Session) -> None:
        time.sleep(slow)

    event.listen(Session, "before_commit", slow_commit, insert=True)  # before the stamp
    try:
        import_folder(engine, content)
    finally:
        event.remove(Session, "before_commit", slow_commit)
    with Session(engine) as s:
        [updated] = [d for d in s.exec(select(WebhookDelivery)) if d.id not in deliveries_before]
    assert updated.next_attempt_at - updated.created_at >= SETTLE + timedelta(seconds=slow)
    with Session(engine) as s:
        _new_lead(s)
        s.commit()
        lead = s.exec(
            select(WebhookDelivery)
            .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)  # type: ignore[arg-type]
            .where(WebhookEvent.type == EventType.CONSULTATION_REQUEST_CREATED)
        ).one()
    assert lead.next_attempt_at == lead.created_at
    engine.dispose()


def test_event_type_rules():
    assert article_event_type(None, "published") == "article.published"
    assert article_event_type("draft", "published") == "article.published"
    assert article_event_type("published", "published") == "article.updated"
    assert article_event_type("published", "archived") == "article.unpublished"
    assert article_event_type(None, "draft") is None


def test_rendering_modes():
    data = {"id": "1", "email": "a@b.c", "therapies": ["x"], "message": "m"}
    links = event_links_builder("https://api.example/")
    full = render(
        "consultation_request.created", data, mode=PayloadMode.FULL, health=False, links=links
    )
    assert full["links"]["self"] == "https://api.example/v1/admin/consultation-requests/1"
    assert "therapies" not in full and "message" not in full and full["email"] == "a@b.c"
    with_health = render(
        "consultation_request.created", data, mode=PayloadMode.FULL, health=True, links=links
    )
    assert with_health["therapies"] == ["x"]
    thin = render(
        "consultation_request.created", data, mode=PayloadMode.THIN, health=True, links=links
    )
    assert set(thin) == {"id", "links"}


def test_links_are_built_when_sent_never_stored():
    article = {"id": "2", "slug": "nad-plus-iv-therapy", "locale": "en", "revision": 3}
    links = event_links_builder("https://api.example")
    stale = {**article, "links": {"self": "/an/old/stored/path"}}
    out = render("article.updated", stale, mode=PayloadMode.THIN, health=False, links=links)
    assert out == {
        **article,
        "links": {"self": "https://api.example/v1/articles/nad-plus-iv-therapy?locale=en"},
    }
    assert (
        render("ping", {"message": "ping"}, mode=PayloadMode.FULL, health=False, links=links)[
            "links"
        ]
        == {}
    )
