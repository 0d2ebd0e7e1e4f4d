"""Two imports at once take turns: the second reads what the first wrote, so neither fails on
the article revision both would otherwise compute, and the feed stays in commit order."""

import shutil
import threading
from pathlib import Path

from sqlmodel import Session, col, select

from db.models import Article, ContentChange
from db.session import unit_of_work
from services.content.importer import apply_bundle
from services.content.rules import load_bundle
from tests.conftest import DEMO_CONTENT

SLUG = "nad-plus-iv-therapy"


def _edited(tmp_path: Path, name: str) -> Path:
    folder = Path(shutil.copytree(DEMO_CONTENT, tmp_path / name))
    article = folder / f"articles/{SLUG}.md"
    article.write_text(article.read_text() + f"\nEdited by {name}.\n")
    return folder


def test_two_imports_at_once_both_land_one_after_the_other(seeded, tmp_path):
    engine = seeded.engine()
    with Session(engine) as s:
        before = s.exec(select(Article.revision).where(Article.slug == SLUG)).one()
    bundles = [load_bundle(_edited(tmp_path, name)) for name in ("first", "second")]
    ready = threading.Barrier(2)
    failures: list[BaseException] = []

    # PostgreSQL: both transactions are open before either imports. SQLite: a unit of work
    # holds the process's one write lock, so both start together and the second waits.
    overlap = seeded.backend == "postgresql"

    def run(index: int) -> None:
        try:
            if not overlap:
                ready.wait(timeout=30)
            with unit_of_work(engine) as session:
                if overlap:
                    ready.wait(timeout=30)
                apply_bundle(session=session, bundle=bundles[index])
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    with Session(engine) as s:
        after = s.exec(select(Article.revision).where(Article.slug == SLUG)).one()
        revisions = list(
            s.exec(
                select(ContentChange.revision)
                .where(ContentChange.slug == SLUG, col(ContentChange.revision).is_not(None))
                .order_by(col(ContentChange.id))
            )
        )
    engine.dispose()
    assert after == before + 2
    assert revisions[-2:] == [before + 1, before + 2]
