"""scripts/rebind_demo_approvals: after a demo article is edited, its placeholder approvals are
bound to the new text; a real clinician's sign-off is never moved."""

from pathlib import Path

import pytest

from scripts.rebind_demo_approvals import rebind
from services.content.rules import load_bundle
from tests.content_helpers import import_folder

NAD = "articles/nad-plus-iv-therapy.md"


def test_an_edited_demo_article_gets_its_demo_approval_back(content: Path, migrated):
    path = content / NAD
    path.write_text(path.read_text().replace("coenzyme found", "coenzyme present"))
    [moved] = rebind(content)  # only the edited article's one approval moves
    assert moved.startswith("nad-plus-iv-therapy (en) by f260ea82")
    assert rebind(content) == []  # a second run finds nothing to move
    engine = migrated.engine()
    try:
        report = import_folder(engine, content)
        assert report.unapproved == []
    finally:
        engine.dispose()


def test_a_real_reviewers_approval_is_never_moved(content: Path):
    registry = content / "reviewers.yaml"
    registry.write_text(registry.read_text().replace("placeholder: true", "placeholder: false", 1))
    path = content / "articles/iv-ketamine-for-ptsd.md"
    path.write_text(path.read_text().replace("Fear extinction", "Unlearning fear", 1))
    before = (content / "approvals.yaml").read_text()
    with pytest.raises(SystemExit, match="is not a placeholder: not rebound"):
        rebind(content)
    assert (content / "approvals.yaml").read_text() == before
    assert load_bundle(content).approvals  # the file still reads


def test_a_real_reviewers_unchanged_approval_stays_beside_a_rebound_demo_one(content: Path):
    registry = content / "reviewers.yaml"  # Dr. Morgan Example (the ketamine articles) is real
    registry.write_text(registry.read_text().replace("placeholder: true", "placeholder: false", 1))
    path = content / NAD
    path.write_text(path.read_text().replace("coenzyme found", "coenzyme present"))
    before = (content / "approvals.yaml").read_text()
    [moved] = rebind(content)
    assert moved.startswith("nad-plus-iv-therapy (en)")
    after = (content / "approvals.yaml").read_text()
    ketamine = before.split("- article: stellate-ganglion-block-for-ptsd")[0]
    assert after.startswith(ketamine)  # the real reviewer's approval, word for word
