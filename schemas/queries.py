"""Query-string shapes shared by the public reads: `fields=` on lists."""

import re
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

from schemas.articles import ALWAYS_LISTED, SUMMARY_FIELDS
from schemas.text import SchemaPattern

_NAMES = "|".join(SUMMARY_FIELDS)
_FIELD_LIST = re.compile(r"[a-z_]+(?:,[a-z_]+)*")


def _known_fields(value: str) -> str:
    if not _FIELD_LIST.fullmatch(value):
        raise ValueError("must be field names separated by commas, e.g. `title,summary`")
    unknown = [n for n in value.split(",") if n not in SUMMARY_FIELDS]
    if unknown:
        raise ValueError(
            f"unknown field(s): {', '.join(unknown)}; known: {', '.join(SUMMARY_FIELDS)}"
        )
    return value


# The validator names unknown fields; the pattern states the same rule in the contract.
FieldList = Annotated[
    str,
    StringConstraints(max_length=400),
    AfterValidator(_known_fields),
    SchemaPattern(f"^({_NAMES})(,({_NAMES}))*$"),
]
FIELDS_DESCRIPTION = (
    "Only these summary fields, comma-separated (e.g. `title,summary`); "
    f"{', '.join(f'`{n}`' for n in ALWAYS_LISTED)} are always included. Every field when "
    "left out."
)


def normalized_fields(fields: str) -> str:
    """A `fields=` value in one spelling: each name once, in the summary's order, without the
    fields always listed (`id` alone when it names nothing else)."""
    named = set(fields.split(","))
    return ",".join(n for n in SUMMARY_FIELDS if n in named and n not in ALWAYS_LISTED) or "id"


def summary_exclusions(fields: str) -> set[str]:
    """The summary fields a `fields=` value leaves out."""
    wanted = {*fields.split(","), *ALWAYS_LISTED}
    return {n for n in SUMMARY_FIELDS if n not in wanted}
