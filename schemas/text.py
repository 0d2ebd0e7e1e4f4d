"""The string types of every request model, defined once.

Each is bounded (to its column's length where it is stored) and refuses characters that break
something downstream: NUL, which PostgreSQL cannot store; lone surrogates, which no database
can encode; other control characters, which forge log lines, CSV rows and header lines; and in
names, bidi overrides and zero-width characters, which make a name display as something else."""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    GetJsonSchemaHandler,
    StringConstraints,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from core.net import HOST_LABEL, parse_http_url

# Regular-expression source, valid in Python and ECMA-262 alike, so that the OpenAPI patterns
# state the very rules the validators apply.
# C0 except tab, LF and CR; DEL; C1 (U+0085 is a line break too); lone surrogates.
_CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
# Lone surrogates are refused too, but not named in the schema patterns: they are no Unicode
# characters, and validators built on Rust or ICU regular expressions cannot compile them.
_SURROGATES = r"\ud800-\udfff"
_LINE_BREAKS = r"\t\n\r\u2028\u2029"
_BIDI_CONTROLS = r"\u202a-\u202e\u2066-\u2069"
_ZERO_WIDTH = r"\u200b-\u200d\u2060\ufeff"
_SINGLE_LINE = _CONTROL + _LINE_BREAKS
_IN_NAMES = _SINGLE_LINE + _BIDI_CONTROLS + _ZERO_WIDTH

_NOT_MULTI_LINE = re.compile(f"[{_CONTROL}{_SURROGATES}]")
_NOT_SINGLE_LINE = re.compile(f"[{_SINGLE_LINE}{_SURROGATES}]")
_NOT_IN_NAMES = re.compile(f"[{_IN_NAMES}{_SURROGATES}]")


@dataclass(frozen=True)
class _Pattern:
    """Adds `pattern` to a string's JSON schema (the validators next to it enforce the rule)."""

    pattern: str

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema["pattern"] = self.pattern
        return schema


# For other schemas: a pattern stated in the contract, enforced by the validators beside it.
SchemaPattern = _Pattern


def _without(excluded: str) -> _Pattern:
    """Any string without these characters."""
    return _Pattern(f"^[^{excluded}]*$")


def _visible_without(excluded: str) -> _Pattern:
    """At least one character that is neither whitespace nor excluded (what is left after
    stripping is not empty), and none of the excluded ones."""
    return _Pattern(f"^[^{excluded}]*[^\\s{excluded}][^{excluded}]*$")


def strip_controls(text: str) -> str:
    """`text` without control characters or lone surrogates, for values that are recorded as
    sent rather than validated (a User-Agent header)."""
    return _NOT_SINGLE_LINE.sub("", text)


def _refusing(pattern: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if pattern.search(value):
            raise ValueError(f"must not contain {what}")
        return value

    return AfterValidator(check)


_single_line = _refusing(_NOT_SINGLE_LINE, "control characters or line breaks")
_multi_line = _refusing(_NOT_MULTI_LINE, "control characters")
_name = _refusing(
    _NOT_IN_NAMES, "control characters, line breaks, bidi overrides or zero-width characters"
)


def _http_url(value: str) -> str:
    if value:  # forms send "" for "none" (an empty document.referrer)
        parse_http_url(value)
    return value


def _webhook_url(value: str) -> str:
    parse_http_url(value)
    return value


# One line, bounded where it is used (a query parameter's max_length).
Line = Annotated[str, _single_line, _without(_SINGLE_LINE)]
# Several lines (tabs and line breaks allowed), bounded where it is used (an article's prose).
Lines = Annotated[str, _multi_line, _without(_CONTROL)]
# Free text on one line (utm values, a preferred time, a description).
Text40 = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=40),
    _single_line,
    _without(_SINGLE_LINE),
]
Text100 = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=100),
    _single_line,
    _without(_SINGLE_LINE),
]
Text200 = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=200),
    _single_line,
    _without(_SINGLE_LINE),
]
Text500 = Annotated[str, StringConstraints(max_length=500), _single_line, _without(_SINGLE_LINE)]
# A version label the client was handed (e.g. a consent text's): one line, not blank.
Version = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=40),
    _single_line,
    _visible_without(_SINGLE_LINE),
]
# The trap field: kept as sent (not stripped), since any content at all marks a bot.
Honeypot = Annotated[str, StringConstraints(max_length=200), _single_line, _without(_SINGLE_LINE)]
# Free text over several lines: tabs and line breaks allowed.
Message = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=2000),
    _multi_line,
    _without(_CONTROL),
]
Notes = Annotated[str, StringConstraints(max_length=5000), _multi_line, _without(_CONTROL)]
# A person's name as they gave it.
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    _name,
    _visible_without(_IN_NAMES),
]
PhoneText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=32),
    _single_line,
    _visible_without(_SINGLE_LINE),
]
# An absolute http(s) URL as the server accepts it: printable ASCII, a host name (IP literals
# are accepted too but not spelled out here), an optional port (1-65535) and any path, query
# and fragment.
_LABEL = HOST_LABEL
_PORT = r"(?::(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?"  # noqa: E501
HTTP_URL_PATTERN = rf"https?://{_LABEL}(?:\.{_LABEL})*{_PORT}(?:[/?#][\x21-\x7e]*)?"
# Where a form was (page, referrer): an absolute http(s) URL, or "" for none.
PageUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=2000),
    AfterValidator(_http_url),
    _Pattern(f"^(?:{HTTP_URL_PATTERN})?$"),
]
# Where webhooks go: the service checks scheme, credentials and addresses on top.
WebhookUrl = Annotated[
    str,
    StringConstraints(min_length=8, max_length=2000),
    AfterValidator(_webhook_url),
    _Pattern(f"^{HTTP_URL_PATTERN}$"),
]
# An exact email address to look up (a query filter): no spaces or control characters.
_EMAIL_PART = rf"[^\s@{_CONTROL}]+"
_EMAIL_QUERY = f"^{_EMAIL_PART}@{_EMAIL_PART}$"
EmailQuery = Annotated[
    str,
    StringConstraints(min_length=3, max_length=320, pattern=_EMAIL_QUERY),
    _single_line,
]

# RFC 3339 date-time with a zone: what `format: date-time` promises (no Unix timestamps).
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})")


def _rfc3339(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError(
            "must be an ISO-8601 date-time with a time zone, e.g. 2026-01-31T00:00:00Z"
        )
    return value


def _in_utc_range(value: datetime) -> datetime:
    # 0001-01-01T00:00+14:00 parses but has no UTC time (before year 1): compared with stored
    # times it would overflow in the database driver.
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("must be a time between the years 1 and 9999 in UTC") from None


Instant = Annotated[AwareDatetime, BeforeValidator(_rfc3339), AfterValidator(_in_utc_range)]

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_day(value: Any) -> Any:
    if isinstance(value, date):  # YAML reads an unquoted 2026-12-07 as a date
        return value
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        raise ValueError("must be an ISO-8601 date, e.g. 2026-01-31")
    return value


# A calendar day, written as `format: date` promises: never a Unix timestamp or a number.
Day = Annotated[date, BeforeValidator(_iso_day)]


def rfc3339(moment: datetime) -> str:
    """`moment` in UTC, in the one RFC 3339 spelling links repeat (`2026-11-01T00:00:00Z`)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
