"""Query-string shapes shared by the public reads: `fields=` and `exclude=`, which choose the
fields of an article or of each article in a list."""

import re
from dataclasses import dataclass
from functools import partial
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

from schemas.articles import ALWAYS_LISTED, ARTICLE_FIELDS, SUMMARY_FIELDS
from schemas.text import SchemaPattern

_FIELD_LIST = re.compile(r"[a-z_]+(?:,[a-z_]+)*")


def _known(known: tuple[str, ...], leavable: bool, value: str) -> str:
    if not _FIELD_LIST.fullmatch(value):
        raise ValueError("must be field names separated by commas, e.g. `title,summary`")
    unknown = [n for n in value.split(",") if n not in known]
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(unknown)}; known: {', '.join(known)}")
    kept = [n for n in value.split(",") if n in ALWAYS_LISTED]
    if leavable and kept:
        raise ValueError(f"{', '.join(kept)}: always present, never left out")
    return value


def _pattern(names: tuple[str, ...]) -> SchemaPattern:
    alternatives = "|".join(names)
    return SchemaPattern(f"^({alternatives})(,({alternatives}))*$")


def _leavable(known: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(n for n in known if n not in ALWAYS_LISTED)


# Each validator names unknown fields; its pattern states the same rule in the contract.
SummaryFieldList = Annotated[
    str,
    StringConstraints(max_length=400),
    AfterValidator(partial(_known, SUMMARY_FIELDS, False)),
    _pattern(SUMMARY_FIELDS),
]
SummaryExclusionList = Annotated[
    str,
    StringConstraints(max_length=400),
    AfterValidator(partial(_known, SUMMARY_FIELDS, True)),
    _pattern(_leavable(SUMMARY_FIELDS)),
]
ArticleFieldList = Annotated[
    str,
    StringConstraints(max_length=400),
    AfterValidator(partial(_known, ARTICLE_FIELDS, False)),
    _pattern(ARTICLE_FIELDS),
]
ArticleExclusionList = Annotated[
    str,
    StringConstraints(max_length=400),
    AfterValidator(partial(_known, ARTICLE_FIELDS, True)),
    _pattern(_leavable(ARTICLE_FIELDS)),
]
_ALWAYS = ", ".join(f"`{n}`" for n in ALWAYS_LISTED)
FIELDS_DESCRIPTION = (
    "Only these fields, comma-separated (e.g. `title,summary`); "
    f"{_ALWAYS} are always included. Every field when left out."
)
EXCLUDE_DESCRIPTION = (
    "Leave these fields out, comma-separated (e.g. `references,json_ld`, the heaviest parts); "
    f"{_ALWAYS} are never left out. With `fields`, what both leave in."
)


@dataclass(frozen=True)
class Selection:
    """The fields of a resource a request leaves out (`fields=` keeps only those it names,
    `exclude=` drops those it names), in the model's order: one spelling of every way to ask."""

    known: tuple[str, ...]
    left_out: tuple[str, ...] = ()

    @classmethod
    def of(cls, known: tuple[str, ...], fields: str | None, exclude: str | None) -> "Selection":
        kept = set(fields.split(",")) if fields else set(known)
        dropped = set(exclude.split(",")) if exclude else set()
        return cls(known, tuple(n for n in _leavable(known) if n not in kept or n in dropped))

    def as_fields(self) -> str | None:
        """The `fields=` value that asks for the same (None: every field), as links echo it;
        `id` alone when it keeps no other field."""
        if not self.left_out:
            return None
        return ",".join(n for n in _leavable(self.known) if n not in self.left_out) or "id"
