"""Revisions of an article's content: their hash (what an approval is bound to), their stored
snapshot, and the per-section diff between two of them."""

import difflib
import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError

from core.errors import ConflictError
from schemas.editorial import ArticleContent

# What of a hero image a reviewer signs off: the picture (its bytes' hash) and its words.
HERO_WORDS = ("sha256", "alt", "caption", "credit")


def content_hash(content: ArticleContent, hero: dict[str, Any] | None) -> str:
    """sha256 of the content and of its hero image; equal hashes mean equal articles, in a file
    or in a request, whatever the key order or surrounding whitespace."""
    dumped = content.model_dump(mode="json")
    # `accessed` came after approvals were first given: unset, it is left out, so content
    # approved before it existed keeps its hash (and its approval).
    for ref in dumped["references"]:
        if ref.get("accessed") is None:
            ref.pop("accessed", None)
    said = {
        "content": dumped,
        "hero": {k: hero.get(k) for k in HERO_WORDS} if hero else None,
    }
    return hashlib.sha256(orjson.dumps(said, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True)
class Snapshot:
    """A revision as stored: its content and its hero image (as an article row keeps it)."""

    content: ArticleContent
    hero: dict[str, Any] | None

    def dump(self) -> dict[str, Any]:
        """The JSON a revision row keeps."""
        return {**self.content.model_dump(mode="json"), "hero_image": self.hero}

    @classmethod
    def load(cls, stored: dict[str, Any]) -> "Snapshot":
        """A stored snapshot. Those written before migration 0017 also hold the file's status,
        dates and review, and name their hero image by file only (no renditions): those parts
        are not content, and such a hero image cannot be shown again, so both are dropped."""
        fields = {k: v for k, v in stored.items() if k in ArticleContent.model_fields}
        hero = stored.get("hero_image")
        try:
            content = ArticleContent.model_validate(fields)
        except ValidationError:  # stored before today's bounds: shown as it is, not reused
            raise ConflictError(
                "This revision was stored before the content rules it breaks; write a new one.",
                code="revision_not_reviewable",
            ) from None
        return cls(content, hero if isinstance(hero, dict) and "renditions" in hero else None)


def section_diff(old: Snapshot, new: Snapshot) -> list[dict[str, Any]]:
    """What changed from `old` to `new`, one entry per section key (in `new`'s order, then the
    removed ones) and one per other field, each with a unified diff of its text."""
    changes: list[dict[str, Any]] = []
    before = {s.key: s for s in old.content.sections}
    after = {s.key: s for s in new.content.sections}
    for key in [*after, *(k for k in before if k not in after)]:
        a, b = before.get(key), after.get(key)
        old_text = f"## {a.heading} ({a.kind})\n{a.markdown}\n" if a else ""
        new_text = f"## {b.heading} ({b.kind})\n{b.markdown}\n" if b else ""
        if old_text != new_text:
            status = "added" if a is None else "removed" if b is None else "changed"
            changes.append(_entry("section", key, status, old_text, new_text))
    old_fields = _other_fields(old)
    for name, new_text in _other_fields(new).items():
        if old_fields[name] != new_text:
            changes.append(_entry("field", name, "changed", old_fields[name], new_text))
    return changes


def _other_fields(snapshot: Snapshot) -> dict[str, str]:
    content = snapshot.content.model_dump(mode="json", exclude={"sections"})
    content["hero_image"] = {k: snapshot.hero.get(k) for k in HERO_WORDS} if snapshot.hero else None
    return {
        name: orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"
        for name, value in content.items()
    }


def _entry(kind: str, key: str, status: str, old: str, new: str) -> dict[str, Any]:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), key, key, n=2
    )
    return {"kind": kind, "key": key, "status": status, "diff": "".join(lines)}
