"""The string types of every request model, defined once.

Each is bounded (to its column's length where it is stored) and refuses characters that break
something downstream: NUL, which PostgreSQL cannot store; lone surrogates, which no database
can encode; other control characters, which forge log lines, CSV rows and header lines; and in
names, bidi overrides and zero-width characters, which make a name display as something else."""

import re
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

from core.net import parse_http_url

# C0 except tab, LF and CR; DEL; C1 (U+0085 is a line break too); lone surrogates.
_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff"
_LINE_BREAKS = "\t\n\r\u2028\u2029"
_BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
_ZERO_WIDTH = "\u200b-\u200d\u2060\ufeff"

_NOT_MULTI_LINE = re.compile(f"[{_CONTROL}]")
_NOT_SINGLE_LINE = re.compile(f"[{_CONTROL}{_LINE_BREAKS}]")
_NOT_IN_NAMES = re.compile(f"[{_CONTROL}{_LINE_BREAKS}{_BIDI_CONTROLS}{_ZERO_WIDTH}]")


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
Line = Annotated[str, _single_line]
# Free text on one line (utm values, a preferred time, a description).
Text40 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40), _single_line]
Text100 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), _single_line]
Text200 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), _single_line]
Text500 = Annotated[str, StringConstraints(max_length=500), _single_line]
# The trap field: kept as sent (not stripped), since any content at all marks a bot.
Honeypot = Annotated[str, StringConstraints(max_length=200), _single_line]
# Free text over several lines: tabs and line breaks allowed.
Message = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), _multi_line]
Notes = Annotated[str, StringConstraints(max_length=5000), _multi_line]
# A person's name as they gave it.
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), _name]
PhoneText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=32), _single_line
]
# Where a form was (page, referrer): an absolute http(s) URL, or "" for none.
PageUrl = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=2000), AfterValidator(_http_url)
]
# Where webhooks go: the service checks scheme, credentials and addresses on top.
WebhookUrl = Annotated[
    str, StringConstraints(min_length=8, max_length=2000), AfterValidator(_webhook_url)
]
