"""The compliance policy at import: content that would serve an article without a required
disclaimer, reference, safety section or review is refused, naming what is missing."""

import re
from pathlib import Path

import yaml
from sqlmodel import Session, select

from core.errors import ContentError
from db.models import Article
from db.session import unit_of_work
from scripts.rebind_demo_approvals import current_hashes
from services.content import compliance
from services.content.importer import import_content
from services.content.rules import load_bundle
from tests.conftest import DEMO_CONTENT
from tests.content_helpers import content_problems, import_folder

KETAMINE = "articles/iv-ketamine-for-ptsd.md"
SGB = "articles/stellate-ganglion-block-for-ptsd.md"
NAD = "articles/nad-plus-iv-therapy.md"
SPANISH_NAD = "terapia-intravenosa-con-nad"


def _edit(content: Path, name: str, old: str, new: str, count: int = 1) -> None:
    path = content / name
    text = path.read_text()
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, count))


def _drop_disclaimer(content: Path, key: str) -> None:
    path = content / "disclaimers.yaml"
    entries = re.split(r"(?m)^(?=- key: )", path.read_text())
    path.write_text("".join(e for e in entries if not e.startswith(f"- key: {key}\n")))


def test_the_demo_content_passes():
    bundle = load_bundle(DEMO_CONTENT)
    assert {a.slug for a in bundle.articles.values()} >= {"iv-ketamine-for-ptsd"}


def test_policy_requirements():
    keys = {
        r.key
        for r in compliance.required(
            therapies=[("a", "off_label"), ("b", "not_fda_approved")],
            conditions=[("c", True), ("d", False)],
        )
    }
    assert keys == {"risks-and-benefits", "fda-off-label", "not-fda-approved", "crisis-resources"}
    approved = compliance.required(therapies=[("a", "fda_approved")], conditions=[("d", False)])
    assert [r.key for r in approved] == ["risks-and-benefits"]


def test_deleting_the_off_label_disclaimer_is_refused(content):
    _drop_disclaimer(content, "fda-off-label")
    problems = content_problems(content)
    for article, therapy in ((KETAMINE, "iv-ketamine"), (SGB, "stellate-ganglion-block")):
        assert any(
            p.startswith(f"{article}: disclaimers: lacks required disclaimer 'fda-off-label'")
            and f"therapy '{therapy}' is off_label" in p
            for p in problems
        ), problems


def test_narrowing_a_rule_is_refused(content):
    _edit(
        content,
        "disclaimers.yaml",
        "slugs: [iv-ketamine, stellate-ganglion-block]",
        "slugs: [iv-ketamine]",
    )
    problems = content_problems(content)
    assert problems == [
        f"{SGB}: disclaimers: lacks required disclaimer 'fda-off-label' (therapy "
        "'stellate-ganglion-block' is off_label); disclaimers.yaml must define "
        "'fda-off-label' with a rule that attaches it"
    ]


def test_deleting_the_unapproved_product_warning_is_refused(content):
    _drop_disclaimer(content, "not-fda-approved")
    assert any(
        p.startswith(f"{NAD}: disclaimers: lacks required disclaimer 'not-fda-approved'")
        and "therapy 'nad-plus' is not_fda_approved" in p
        for p in content_problems(content)
    )


def test_untagging_ptsd_from_an_article_about_ptsd_is_refused(content):
    _edit(content, SGB, "conditions: [ptsd, anxiety]", "conditions: [anxiety]")
    problems = content_problems(content)
    assert any(
        p.startswith(f"{SGB}: conditions: the article discusses") and "not tagged 'ptsd'" in p
        for p in problems
    ), problems


def test_deleting_the_crisis_resources_is_refused(content):
    _drop_disclaimer(content, "crisis-resources")
    problems = content_problems(content)
    assert any(
        p.startswith(f"{KETAMINE}: disclaimers: lacks required disclaimer 'crisis-resources'")
        and "condition 'ptsd' has crisis_risk" in p
        for p in problems
    ), problems


def test_unknown_citations_too_few_references_and_no_safety_section_are_refused(content):
    _edit(content, KETAMINE, "[@feder2014]", "[@nobody1999]")
    path = content / NAD
    text = path.read_text()
    text = re.sub(r"(?ms)^## [^\n]*kind=safety\}.*?(?=^## )", "", text)
    text = re.sub(r"(?ms)^references:\n(  - .*?\n)+(?=\S)", "references: []\n", text)
    text = re.sub(r"\[@[a-z0-9; @-]+\]", "", text)
    path.write_text(text)
    problems = content_problems(content)
    assert any(
        p.startswith(f"{KETAMINE}: sections.") and "cites unknown reference 'nobody1999'" in p
        for p in problems
    ), problems
    assert f"{NAD}: sections: a published therapy article needs a section of kind 'safety'" in (
        problems
    )
    assert any(
        p.startswith(f"{NAD}: references: a published therapy article needs") for p in problems
    )


def test_a_reference_needs_an_identifier(content):
    _edit(content, NAD, '    doi: "10.3389/fnagi.2019.00257"\n', "")
    _edit(content, NAD, '    pmid: "31572171"\n', "")
    assert any(
        p.startswith(f"{NAD}: references.") and "needs a doi, a pmid or a url" in p
        for p in content_problems(content)
    )


def _strict_problems(database_engine, content: Path, *, production: bool = False) -> list[str]:
    """What a strict (or production) import of `content` is refused with (nothing if it is
    accepted); a refused import changes nothing, so each call starts from the same database."""
    try:
        with unit_of_work(database_engine) as session:
            import_content(session=session, content_dir=content, strict=True, production=production)
    except ContentError as exc:
        return exc.problems
    return []


def test_strict_passes_the_demo_and_production_refuses_its_placeholders_by_name(content, migrated):
    engine = migrated.engine()
    try:
        assert _strict_problems(engine, content) == []
        problems = _strict_problems(engine, content, production=True)
        approvals = yaml.safe_load((content / "approvals.yaml").read_text())
        names = {
            r["id"]: r["name"] for r in yaml.safe_load((content / "reviewers.yaml").read_text())
        }
        # Every sign-off of every published article, named: none is by a real clinician.
        assert sorted(problems) == sorted(
            f"articles/{a['article']}.md: approval: '{names[a['reviewer']]}' is a placeholder "
            "reviewer (production)"
            for a in approvals
        )
    finally:
        engine.dispose()


def test_strict_refuses_overdue_unapproved_early_and_unreviewed_translations(content, migrated):
    engine = migrated.engine()
    try:
        # The first approval (the ketamine article's) given long ago and due last week.
        _edit(content, "approvals.yaml", "approved_at: '2026-12-07T08:00:00Z'",
              "approved_at: '2026-06-01T08:00:00Z'")  # fmt: skip
        _edit(content, "approvals.yaml", "next_review_due: '2027-06-07'",
              "next_review_due: '2026-12-01'")  # fmt: skip
        assert _strict_problems(engine, content) == [
            f"{KETAMINE}: approval: review overdue since 2026-12-01"
        ]
        _edit(content, "approvals.yaml", "approved_at: '2026-06-01T08:00:00Z'",
              "approved_at: '2026-12-07T08:00:00Z'")  # fmt: skip
        _edit(content, "approvals.yaml", "next_review_due: '2026-12-01'",
              "next_review_due: '2027-06-07'")  # fmt: skip
        # Published an hour before anyone reviewed it.
        _edit(content, KETAMINE, "published_at: 2026-12-07T09:00:00Z",
              "published_at: 2026-12-07T07:00:00Z")  # fmt: skip
        assert _strict_problems(engine, content) == [
            f"{KETAMINE}: published_at: 2026-12-07T07:00:00Z is before the first medical "
            "approval (2026-12-07T08:00:00Z): an article is published only once it is reviewed"
        ]
        _edit(content, KETAMINE, "published_at: 2026-12-07T07:00:00Z",
              "published_at: 2026-12-07T09:00:00Z")  # fmt: skip
        _edit(content, SGB, "title: ", "title: Revised, ")  # content no approval covers
        problems = _strict_problems(engine, content)
        assert len(problems) == 1 and problems[0].startswith(
            f"{SGB}: approval: a published article needs an approval of its content"
        )
        _edit(content, SGB, "title: Revised, ", "title: ")
        # A translation's medical approval alone is not enough: it needs a translation review.
        entries = re.split(r"(?m)^(?=- article: )", (content / "approvals.yaml").read_text())
        (content / "approvals.yaml").write_text(
            "".join(e for e in entries if "role: translation" not in e or SPANISH_NAD not in e)
        )
        assert _strict_problems(engine, content) == [
            f"articles/{SPANISH_NAD}.md: approval: a translation of 'nad-plus-iv-therapy' needs "
            "a translation review (an approval with role 'translation')"
        ]
        import_folder(engine, content)  # development: published, shown with what stands
        with Session(engine) as s:
            nad = s.exec(select(Article).where(Article.slug == SPANISH_NAD)).one()
            assert nad.status == "published"
            assert [r["role"] for r in nad.review_signoffs] == ["medical"]
    finally:
        engine.dispose()


def test_a_review_is_a_record_never_front_matter(content):
    _edit(content, "approvals.yaml", "next_review_due: '2027-06-07'",
          "next_review_due: '2026-01-01'")  # fmt: skip
    _edit(
        content,
        NAD,
        "status: published\n",
        "status: published\nmedical_review:\n  reviewed_at: 2026-11-20\n",
    )
    problems = content_problems(content)
    assert "approvals.yaml: [0]: Value error, next_review_due is before approved_at" in problems
    assert any(
        p.startswith(
            f"{NAD}: (file): Value error, medical_review is no longer written in front matter"
        )
        for p in problems
    ), problems


def test_a_policy_warning_moved_below_the_text_is_refused(content):
    _edit(
        content,
        "disclaimers.yaml",
        "- key: crisis-resources\n  title: If you are in crisis\n  placement: top",
        "- key: crisis-resources\n  title: If you are in crisis\n  placement: bottom",
    )
    assert "disclaimers.yaml: crisis-resources.placement: the policy places it at the top" in (
        content_problems(content)
    )


def test_an_edit_approved_later_keeps_its_first_publication(content, migrated):
    """Review finding: the first approval is the article's, of any of its texts."""
    engine = migrated.engine()
    try:
        assert _strict_problems(engine, content) == []
        _edit(content, KETAMINE, "title: IV ketamine for PTSD", "title: IV ketamine and PTSD")
        digest = current_hashes(content)[("iv-ketamine-for-ptsd", "en")]
        with (content / "approvals.yaml").open("a") as f:
            f.write(
                f"- article: iv-ketamine-for-ptsd\n  locale: en\n  content_hash: {digest}\n"
                "  reviewer: fa632e46-5070-5790-9c96-89d892e5bcff\n"
                "  approved_at: '2026-12-07T12:00:00Z'\n  next_review_due: '2027-06-07'\n"
            )
        assert _strict_problems(engine, content) == []  # published at 09:00, first approved 08:00
    finally:
        engine.dispose()


def test_in_production_a_real_cosigner_counts_and_the_placeholder_beside_him_does_not(
    content, migrated
):
    registry = content / "reviewers.yaml"  # Dr. Jordan Example (SGB's anesthesiologist): real
    entries = re.split(r"(?m)^(?=- id: )", registry.read_text())
    registry.write_text(
        "".join(
            e.replace("placeholder: true", "placeholder: false") if "Jordan" in e else e
            for e in entries
        )
    )
    engine = migrated.engine()
    try:
        problems = _strict_problems(engine, content, production=True)
    finally:
        engine.dispose()
    assert not [p for p in problems if p.startswith(SGB)]
    # The Spanish SGB article's medical review is real; its translation review is not.
    spanish = "articles/bloqueo-del-ganglio-estrellado-para-tept.md"
    assert [p for p in problems if p.startswith(spanish)] == [
        f"{spanish}: approval: 'Dr. Alex Ejemplo' is a placeholder reviewer (production)"
    ]
