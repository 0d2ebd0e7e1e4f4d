"""The intake's content snapshot: leads are checked from memory, and never against content an
import has since changed. Each test keeps one catalog across leads, as the app does."""

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete
from sqlmodel import Session, col

from core.errors import ValidationFailedError
from db.lead_models import ConsultationRequest
from db.models import Therapy
from db.session import read_session, unit_of_work
from schemas.leads import ConsultationRequestCreate
from services.content import state
from services.leads import checks, intake
from services.leads.catalog import IntakeCatalog
from tests.conftest import lead_body
from tests.content_helpers import import_folder
from tests.vault_helpers import ring

CTX = intake.SubmissionContext(
    client_ip="192.0.2.1", user_agent="t", default_region="US", default_locale="en"
)
NEW_CONSENT = """
- version: "2027-01-01"
  text: The new consent wording.
  sms_text: The new SMS wording.
"""
NEW_THERAPY = """
- slug: ketamine-assisted-psychotherapy
  name: Ketamine-assisted psychotherapy
  description: Therapy sessions alongside ketamine treatment.
  regulatory_status: off_label
  regulatory_note: Off-label.
"""


@pytest.fixture
def engine(seeded):
    e = seeded.engine()
    yield e
    e.dispose()


def _lead(engine, catalog: IntakeCatalog, **changes: object) -> ConsultationRequest:
    """Store a lead through `catalog`; returns it as stored."""
    with unit_of_work(engine) as session:
        result = intake.intake(
            session=session,
            ring=ring(),
            data=ConsultationRequestCreate.model_validate(lead_body(**changes)),
            ctx=CTX,
            idempotency_key=None,
            idempotency_ttl=timedelta(hours=24),
            catalog=catalog,
        )
    with Session(engine) as s:
        return s.get_one(ConsultationRequest, result.lead_id)


def _refused(engine, catalog: IntakeCatalog, **changes: object) -> set[tuple[str, str]]:
    """The (field, type) pairs a lead is refused with (it must be refused)."""
    with pytest.raises(ValidationFailedError) as caught:
        _lead(engine, catalog, **changes)
    return {(e["field"], e["type"]) for e in caught.value.extra["errors"]}


def _source(**changes: object) -> dict[str, object]:
    """The demo lead's source, with fields replaced."""
    source = lead_body()["source"]
    assert isinstance(source, dict)
    return {**source, **changes}


def _versions(lead: ConsultationRequest) -> dict[str, int]:
    return {d["key"]: d["version"] for d in lead.disclaimer_versions}


def test_the_lead_after_an_import_sees_a_new_consent_version(engine, content: Path):
    catalog = IntakeCatalog()
    new = {"contact": True, "sms": True, "age_confirmed": True, "consent_version": "2027-01-01"}
    assert _refused(engine, catalog, consent=new) == {
        ("consent.consent_version", "unknown_consent_version")
    }
    with (content / "consent.yaml").open("a") as f:
        f.write(NEW_CONSENT)
    import_folder(engine, content)
    lead = _lead(engine, catalog, consent=new)
    assert lead.consent_text == "The new consent wording.\n\nThe new SMS wording."
    # the superseded version stays valid: a form may still show it
    assert "withdraw my consent" in (_lead(engine, catalog).consent_text or "")


def test_the_lead_after_an_import_records_a_changed_disclaimer_version(engine, content: Path):
    catalog = IntakeCatalog()
    assert _versions(_lead(engine, catalog))["crisis-resources"] == 1  # the article is cached
    path = content / "disclaimers.yaml"
    path.write_text(path.read_text().replace("call or text 988", "call or text 988 at any hour"))
    import_folder(engine, content)
    shown = [{"key": "crisis-resources", "version": 2}]
    lead = _lead(engine, catalog, source=_source(disclaimers_shown=shown))
    assert _versions(lead) == {"crisis-resources": 2, "fda-off-label": 1, "risks-and-benefits": 1}
    shown = [{"key": "crisis-resources", "version": 3}]
    assert _refused(engine, catalog, source=_source(disclaimers_shown=shown)) == {
        ("source.disclaimers_shown.0", "unknown_disclaimer_version")
    }


def test_the_lead_after_a_change_sees_a_therapy_added_and_removed(engine, content: Path):
    catalog = IntakeCatalog()
    therapies = ["iv-ketamine", "ketamine-assisted-psychotherapy"]
    assert _refused(engine, catalog, therapies=therapies) == {("therapies.1", "unknown_therapy")}
    with (content / "therapies.yaml").open("a") as f:
        f.write(NEW_THERAPY)
    import_folder(engine, content)
    assert _lead(engine, catalog, therapies=therapies).therapies == therapies
    # An import never deletes a therapy (leads and articles refer to it); whatever removes one
    # moves the content version on, as every content change must.
    with unit_of_work(engine) as s:
        s.execute(delete(Therapy).where(col(Therapy.slug) == "ketamine-assisted-psychotherapy"))
        state.bump(session=s)
    assert _refused(engine, catalog, therapies=therapies) == {("therapies.1", "unknown_therapy")}


def test_a_small_catalog_forgets_articles_and_answers_the_same(engine):
    """With room for one article, leads from two articles in turn each get their own."""
    catalog = IntakeCatalog(articles_kept=1)
    wanted = {
        "iv-ketamine-for-ptsd": {"crisis-resources", "fda-off-label", "risks-and-benefits"},
        "nad-plus-iv-therapy": {"not-fda-approved", "risks-and-benefits"},
    }
    for slug in [*wanted, *wanted]:
        lead = _lead(engine, catalog, source=_source(article_slug=slug))
        assert set(_versions(lead)) == wanted[slug]


def test_a_fresh_and_a_kept_catalog_find_the_same_problems(engine):
    """The one-422 path: the valid parts of a bad submission are checked from the snapshot."""
    parts = {
        "phone": "123",
        "therapies": ["iv-ketamine", "reiki"],
        "conditions": ["insomnia"],
        "consent": {
            "sms": False,
            "age_confirmed": True,
            "consent_version": "1999-01-01",
            "locale": None,
        },
        "source": {
            "article_slug": "no-such-article",
            "locale": None,
            "disclaimers_shown": [None, {"key": "fda-off-label", "version": 9}],
        },
    }
    expected = [
        {"field": "phone", "type": "invalid_phone", "message": "Not a valid phone number."},
        {
            "field": "consent.consent_version",
            "type": "unknown_consent_version",
            "message": "No consent text has this version in this locale.",
        },
        {"field": "therapies.1", "type": "unknown_therapy", "message": "Unknown therapy slug."},
        {
            "field": "conditions.0",
            "type": "unknown_condition",
            "message": "Unknown condition slug.",
        },
        {
            "field": "source.article_slug",
            "type": "unknown_article",
            "message": "No published article has this slug.",
        },
        {
            "field": "source.disclaimers_shown.1",
            "type": "unknown_disclaimer_version",
            "message": "No disclaimer has this key and version.",
        },
    ]
    kept = IntakeCatalog()
    with read_session(engine) as session:
        for catalog in (IntakeCatalog(), kept, kept):
            assert checks.field_errors(session=session, parts=parts, ctx=CTX, catalog=catalog) == (
                expected
            )
