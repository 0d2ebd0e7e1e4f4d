"""Importing a content folder in one unit of work, as the CLI does."""

from pathlib import Path

from sqlalchemy import Engine

from db.session import unit_of_work
from services.content_import import ImportReport, import_content


def import_folder(engine: Engine, folder: Path) -> ImportReport:
    """Import `folder` into the database behind `engine`, committed on success."""
    with unit_of_work(engine) as session:
        return import_content(session=session, content_dir=folder)
