"""Content folders in tests: importing one in a unit of work, as the CLI does, and reading
the problems a bad one is refused with."""

from pathlib import Path

import pytest
from sqlalchemy import Engine

from core.errors import ContentError
from db.session import unit_of_work
from services.content.importer import import_content
from services.content.report import ImportReport
from services.content.rules import load_bundle


def demo_articles(folder: Path) -> int:
    """How many article files a content folder holds."""
    return len(list((folder / "articles").glob("*.md")))


def import_folder(engine: Engine, folder: Path) -> ImportReport:
    """Import `folder` into the database behind `engine`, committed on success."""
    with unit_of_work(engine) as session:
        return import_content(session=session, content_dir=folder)


def content_problems(folder: Path) -> list[str]:
    """What loading `folder` is refused with (it must be refused)."""
    with pytest.raises(ContentError) as caught:
        load_bundle(folder)
    return caught.value.problems
