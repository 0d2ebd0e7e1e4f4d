"""The content import: idempotent, revisioned, versioned disclaimers, all-or-nothing."""

import pytest
from sqlmodel import Session, col, func, select

from core.errors import ContentError
from db.models import Article, ArticleRevision, ArticleSection, Disclaimer
from tests.content_helpers import demo_articles, import_folder

KETAMINE = "articles/iv-ketamine-for-ptsd.md"


def _snapshot(engine) -> list[tuple[object, ...]]:
    with Session(engine) as s:
        articles = [
            (a.slug, a.revision, a.updated_at, a.status, a.content_hash)
            for a in s.exec(select(Article).order_by(col(Article.slug)))
        ]
        disclaimers = [(d.key, d.version, d.active) for d in s.exec(select(Disclaimer))]
        revisions = s.exec(select(func.count()).select_from(ArticleRevision)).one()
    return [*articles, *disclaimers, ("revisions", revisions)]


def test_second_import_changes_nothing(migrated, content):
    engine = migrated.engine()
    first = import_folder(engine, content)
    articles = demo_articles(content)
    assert articles >= 6 and len(first.created) == articles and first.changed
    before = _snapshot(engine)
    second = import_folder(engine, content)
    assert not second.changed and second.unchanged == articles
    assert _snapshot(engine) == before
    engine.dispose()


def test_edited_article_updates_and_bumps_revision(migrated, content):
    engine = migrated.engine()
    import_folder(engine, content)
    path = content / KETAMINE
    path.write_text(
        path.read_text().replace(
            "## Fear extinction {#fear-extinction", "## Unlearning fear {#fear-extinction"
        )
    )
    report = import_folder(engine, content)
    assert report.updated == ["iv-ketamine-for-ptsd (en)"]
    assert report.unchanged == demo_articles(content) - 1
    with Session(engine) as s:
        article = s.exec(select(Article).where(Article.slug == "iv-ketamine-for-ptsd")).one()
        assert article.revision == 2
        heading = s.exec(
            select(ArticleSection.heading).where(
                ArticleSection.article_id == article.id, ArticleSection.key == "fear-extinction"
            )
        ).one()
        assert heading == "Unlearning fear"
        revisions = s.exec(
            select(ArticleRevision.revision)
            .where(ArticleRevision.article_id == article.id)
            .order_by(col(ArticleRevision.revision))
        ).all()
        assert revisions == [1, 2]
    engine.dispose()


def test_changed_disclaimer_text_makes_a_new_version_and_keeps_the_old(migrated, content):
    engine = migrated.engine()
    import_folder(engine, content)
    path = content / "disclaimers.yaml"
    path.write_text(path.read_text().replace("call or text 988", "call or text 988 at any hour"))
    report = import_folder(engine, content)
    assert report.disclaimer_versions == ["crisis-resources v2"]
    with Session(engine) as s:
        rows = s.exec(
            select(Disclaimer)
            .where(Disclaimer.key == "crisis-resources", Disclaimer.locale == "en")
            .order_by(col(Disclaimer.version))
        ).all()
        assert [(d.version, d.active) for d in rows] == [(1, False), (2, True)]
        assert "any hour" in rows[1].text and "any hour" not in rows[0].text
    engine.dispose()


def test_removed_article_file_is_archived_not_deleted(migrated, content):
    engine = migrated.engine()
    import_folder(engine, content)
    (content / "articles/nad-plus-iv-therapy.md").unlink()
    (content / "articles/terapia-intravenosa-con-nad.md").unlink()  # its translation
    report = import_folder(engine, content)
    assert sorted(report.archived) == [
        "nad-plus-iv-therapy (en)",
        "terapia-intravenosa-con-nad (es)",
    ]
    with Session(engine) as s:
        article = s.exec(select(Article).where(Article.slug == "nad-plus-iv-therapy")).one()
        assert article.status == "archived" and article.revision == 2
    engine.dispose()


BAD_EDITS = [
    (
        KETAMINE,
        "therapies: [iv-ketamine, stellate-ganglion-block]",
        "therapies: [iv-ketamine, laser-therapy]",
        "articles/iv-ketamine-for-ptsd.md: therapies: unknown therapy slug 'laser-therapy'",
    ),
    (
        KETAMINE,
        "title: IV ketamine for PTSD\n",
        "",
        "articles/iv-ketamine-for-ptsd.md: title: Field required",
    ),
    (
        KETAMINE,
        "{#cognitive-rigidity kind=mechanism}",
        "{#fear-extinction kind=mechanism}",
        "articles/iv-ketamine-for-ptsd.md: sections.fear-extinction: duplicate section key",
    ),
    (
        KETAMINE,
        "{#overview kind=overview}",
        "{#overview kind=poem}",
        "articles/iv-ketamine-for-ptsd.md: sections.0.kind: Input should be",
    ),
    (
        KETAMINE,
        "## Overview {#overview kind=overview}",
        "## Overview",
        "articles/iv-ketamine-for-ptsd.md: body line 1: section heading needs",
    ),
    (
        KETAMINE,
        "status: published",
        "status: live",
        "articles/iv-ketamine-for-ptsd.md: status: Input should be",
    ),
    (
        "disclaimers.yaml",
        "slugs: [ptsd, depression]",
        "slugs: [ptsd, insomnia]",
        "disclaimers.yaml: crisis-resources.slugs: unknown conditions 'insomnia'",
    ),
    (
        "disclaimers.yaml",
        "placement: bottom",
        "placement: middle",
        "disclaimers.yaml: [2].placement: Input should be",
    ),
    (
        "articles/nad-plus-iv-therapy.md",
        "slug: nad-plus-iv-therapy",
        "slug: iv-ketamine-for-ptsd",
        "articles/nad-plus-iv-therapy.md: slug: 'iv-ketamine-for-ptsd' (en) is also used by",
    ),
    (
        "therapies.yaml",
        "- slug: nad-plus",
        "- slug: Nad Plus",
        "therapies.yaml: [2].slug: String should match pattern",
    ),
]


@pytest.mark.parametrize(("file", "old", "new", "message"), BAD_EDITS)
def test_bad_files_are_rejected_naming_file_and_field_without_touching_the_db(
    migrated, content, file, old, new, message
):
    engine = migrated.engine()
    import_folder(engine, content)
    before = _snapshot(engine)
    path = content / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    # another, valid edit in the same run must not land either
    other = content / "articles/stellate-ganglion-block-for-ptsd.md"
    other.write_text(other.read_text().replace("What SGB is", "What an SGB is"))
    with pytest.raises(ContentError) as excinfo:
        import_folder(engine, content)
    assert any(p.startswith(message) for p in excinfo.value.problems), excinfo.value.problems
    assert _snapshot(engine) == before
    engine.dispose()


def test_a_published_article_needs_a_disclaimer_and_a_review(migrated, content):
    (content / "disclaimers.yaml").write_text("[]\n")
    with pytest.raises(ContentError) as excinfo:
        import_folder(migrated.engine(), content)
    assert (
        "articles/nad-plus-iv-therapy.md: disclaimers: lacks required disclaimer "
        "'risks-and-benefits' (every article carries it); disclaimers.yaml must define "
        "'risks-and-benefits' with a rule that attaches it"
    ) in excinfo.value.problems
