"""Bind the demo approvals in content/approvals.yaml to the demo articles' current content.

An approval names the exact content it approves (its hash), so every edit of a demo article
leaves its demo approval covering nothing. After editing demo content, run

    .venv/bin/python -m scripts.rebind_demo_approvals [--content content]

It imports the folder into a throwaway SQLite database, as `cli import-content` would, and
writes each listed approval's `content_hash` from what that import stored. Only approvals by
placeholder (demo) reviewers are rebound: a real clinician's sign-off is never moved to words
they did not read (the script stops and names it).
"""

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml
from sqlmodel import Session, select

from db import migrate
from db.models import Article
from db.session import make_engine
from services.content.importer import import_content

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def current_hashes(content_dir: Path) -> dict[tuple[str, str], str]:
    """Each article's content hash, by (slug, locale), as an import of the folder stores it."""
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'rebind.db'}"
        migrate.upgrade(url)
        engine = make_engine(url)
        try:
            with Session(engine) as session:
                import_content(session=session, content_dir=content_dir)
                session.commit()
                rows = session.exec(select(Article.slug, Article.locale, Article.content_hash))
                return {(slug, locale): digest for slug, locale, digest in rows}
        finally:
            engine.dispose()


def rebind(content_dir: Path) -> list[str]:
    """Rewrite approvals.yaml in place; returns what changed, one line per approval."""
    placeholders = {
        str(r["id"])
        for r in yaml.safe_load((content_dir / "reviewers.yaml").read_text(encoding="utf-8"))
        if r.get("placeholder")
    }
    path = content_dir / "approvals.yaml"
    text = path.read_text(encoding="utf-8")
    header = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
    approvals: list[dict[str, Any]] = yaml.safe_load(text) or []
    hashes = current_hashes(content_dir)
    changed = []
    for entry in approvals:
        where = f"{entry['article']} ({entry.get('locale', 'en')})"
        digest = hashes.get((entry["article"], entry.get("locale", "en")))
        if digest is None:
            sys.exit(f"{where}: no such article in {content_dir}")
        if entry["content_hash"] != digest and str(entry["reviewer"]) not in placeholders:
            sys.exit(f"{where}: reviewer {entry['reviewer']} is not a placeholder: not rebound")
        if entry["content_hash"] != digest:
            entry["content_hash"] = digest
            changed.append(f"{where} by {entry['reviewer']}: now {digest[:12]}")
    body = yaml.safe_dump(approvals, sort_keys=False, allow_unicode=True, width=100)
    path.write_text(header + body, encoding="utf-8")
    return changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--content", type=Path, default=PROJECT_ROOT / "content")
    args = parser.parse_args()
    for line in rebind(args.content) or ["every demo approval already covers its article"]:
        print(line)


if __name__ == "__main__":
    main()
