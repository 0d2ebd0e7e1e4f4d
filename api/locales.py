"""Locale negotiation: `?locale=`, else `Accept-Language`, among the locales that have
published content; the default locale when nothing matches. The same answer for the cache-hit
middleware and the routes, so cache keys hold the negotiated locale, never the raw header."""

import re
from dataclasses import dataclass

# Enough for any real browser; the rest of a longer header is ignored, never an error.
MAX_HEADER = 512
MAX_RANGES = 16
_RANGE = re.compile(r"^(\*|[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*)$")
_Q = re.compile(r"^[qQ]=(0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)$")


@dataclass(frozen=True)
class Negotiated:
    """The locale a response is in, and whether Accept-Language decided it (no `?locale=`):
    then the response varies on that header."""

    locale: str
    from_header: bool


def accept_language(header: str | None) -> list[str]:
    """The language ranges of an Accept-Language header (RFC 9110 12.5.4), lower-cased, most
    preferred first (ties keep their order); malformed ranges and `q=0` are dropped."""
    ranked: list[tuple[float, int, str]] = []
    for index, item in enumerate((header or "")[:MAX_HEADER].split(",")[:MAX_RANGES]):
        tag, *params = (part.strip() for part in item.split(";"))
        if not _RANGE.match(tag):
            continue
        q = 1.0
        for param in params:
            match = _Q.match(param)
            if match is None:
                q = -1.0  # a malformed weight: ignore the range
                break
            q = float(match[1])
        if q > 0:
            ranked.append((-q, index, tag.lower()))
    return [tag for _, _, tag in sorted(ranked)]


def _match(tag: str, available: frozenset[str]) -> str | None:
    """`tag` itself, else its base language, among the available locales."""
    by_lower = {locale.lower(): locale for locale in available}
    if tag in by_lower:
        return by_lower[tag]
    return by_lower.get(tag.split("-", 1)[0])


def negotiate(
    *, explicit: str | None, header: str | None, available: frozenset[str], default: str
) -> Negotiated:
    """`explicit` (`?locale=`) or its base language, else the first Accept-Language range
    that matches, else `default`; `en-US` answers `en` and a locale without content the
    default."""
    if explicit is not None:
        return Negotiated(_match(explicit.lower(), available) or default, False)
    for tag in accept_language(header):
        found = default if tag == "*" else _match(tag, available)
        if found is not None:
            return Negotiated(found, True)
    return Negotiated(default, True)
