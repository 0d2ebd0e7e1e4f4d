"""JSON responses with a strong ETag per representation, Cache-Control, brotli or gzip for
bodies worth compressing (`Vary: Accept-Encoding`), and 304 on a matching If-None-Match."""

import gzip
import hashlib
from collections.abc import Callable, Container, Hashable
from dataclasses import dataclass, field

from cachetools import LRUCache

from core.config import Settings

try:  # the `brotli` extra, installed by the lock files; gzip alone without it
    import brotli

    HAS_BROTLI = True
except ImportError:  # pragma: no cover - depends on the install
    HAS_BROTLI = False

# Replies kept with one cached body (api/response_cache.cached_reply): one per representation,
# plain or 304, with or without Vary: Accept-Language (12 with brotli and gzip).
REPLIES_KEPT = 16
# Below this a compressed body saves less than the headers that announce it.
COMPRESS_FROM = 1024


def gzipped(body: bytes) -> bytes:
    """`body` gzipped the one way we do it: mtime=0, so the same body always compresses to the
    same bytes (and, cached, to the same ETag)."""
    return gzip.compress(body, compresslevel=6, mtime=0)


def brotlied(body: bytes) -> bytes:
    """`body` in brotli at quality 5: the 50 KB demo article takes ~3 ms and 9.6 KB (gzip:
    10.4 KB); quality 11 saves another 1.4 KB for ~66 ms, too slow for a cache miss."""
    return brotli.compress(body, quality=5)


# What we can send, best first: a client that accepts several equally gets the first.
ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    **({"br": brotlied} if HAS_BROTLI else {}),
    "gzip": gzipped,
}


def best_coding(accept_encoding: str | None, offered: Container[str] = ENCODERS) -> str | None:
    """The coding of `offered` (names; ENCODERS by default) this client prefers, or None for
    the identity."""
    accepted = accepted_codings(accept_encoding)
    return max(
        (c for c in ENCODERS if c in offered and accepted.get(c, 0) > 0),
        key=lambda c: accepted[c],
        default=None,
    )


def make_etag(body: bytes) -> str:
    """A strong ETag derived from the exact response bytes."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


@dataclass(frozen=True)
class Representation:
    """One encoding of a response: its bytes, its own strong ETag, its Content-Encoding."""

    body: bytes
    etag: str
    encoding: str | None = None  # None: identity


@dataclass(frozen=True)
class CachedBody:
    """A response's bytes as built, and compressed once when that is worth it."""

    identity: Representation
    encoded: dict[str, Representation] = field(default_factory=dict)
    language: str | None = None  # Content-Language, for a body in one locale
    # Replies made of this body, by what the request said (api/response_cache.cached_reply):
    # they go when the body leaves the cache.
    replies: "LRUCache[Hashable, Reply]" = field(
        default_factory=lambda: LRUCache(REPLIES_KEPT), compare=False, repr=False
    )

    @classmethod
    def of(cls, body: bytes, language: str | None = None) -> "CachedBody":
        """Wrap `body`; bodies of COMPRESS_FROM bytes or more are compressed once in every
        coding we offer, each with its own ETag."""
        identity = Representation(body, make_etag(body))
        if len(body) < COMPRESS_FROM:
            return cls(identity, language=language)
        return cls(
            identity,
            {
                coding: Representation(encode(body), identity.etag[:-1] + f'-{coding}"', coding)
                for coding, encode in ENCODERS.items()
            },
            language,
        )

    @property
    def size(self) -> int:
        """The bytes of every representation held."""
        return len(self.identity.body) + sum(len(r.body) for r in self.encoded.values())

    def choose(self, accept_encoding: str | None) -> Representation:
        """The representation to send to a client that sent `accept_encoding`."""
        best = best_coding(accept_encoding, self.encoded)
        return self.encoded[best] if best else self.identity

    def matches(self, if_none_match: str | None) -> bool:
        """Whether If-None-Match names any representation of these bytes (all of them say
        the same thing, so a client that switched encodings still gets its 304)."""
        return any(
            etag_matches(if_none_match, r.etag) for r in (self.identity, *self.encoded.values())
        )

    def headers(
        self, chosen: Representation, cache_control: str, *, vary_language: bool = False
    ) -> list[tuple[bytes, bytes]]:
        """The ETag, Cache-Control, Vary, Content-Language and Content-Encoding headers for
        `chosen` (`vary_language`: Accept-Language chose the locale)."""
        headers = [(b"etag", chosen.etag.encode()), (b"cache-control", cache_control.encode())]
        vary = [
            *(["Accept-Encoding"] if self.encoded else []),
            *(["Accept-Language"] if vary_language else []),
        ]
        if vary:
            headers.append((b"vary", ", ".join(vary).encode()))
        if self.language:
            headers.append((b"content-language", self.language.encode()))
        if chosen.encoding:
            headers.append((b"content-encoding", chosen.encoding.encode()))
        return headers


def accepted_codings(header: str | None) -> dict[str, float]:
    """Accept-Encoding as coding → q (RFC 9110 12.5.3); `*` stands for the codings not named."""
    accepted: dict[str, float] = {}
    for item in (header or "").split(","):
        name, _, params = item.strip().partition(";")
        name = name.strip().lower()
        if not name:
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        accepted[name] = q
    if "*" in accepted:
        for coding in ENCODERS:
            accepted.setdefault(coding, accepted["*"])
    return accepted


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison of If-None-Match against our ETag."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))


def cache_control(settings: Settings) -> str:
    """The Cache-Control value for public GETs."""
    return (
        f"public, max-age={settings.cache_max_age}, "
        f"stale-while-revalidate={settings.cache_stale_while_revalidate}"
    )


Reply = tuple[int, list[tuple[bytes, bytes]], bytes]


def reply(
    cached: CachedBody,
    chosen: Representation,
    *,
    not_modified: bool,
    cache_control: str,
    vary_language: bool = False,
) -> Reply:
    """Status, headers and body for a cached public GET: `chosen` (the representation the
    client accepts), or a 304 (without Content-Encoding: it has no body) when the client holds
    any of them. The one place cached answers are made (api/response_cache.cached_reply)."""
    headers = cached.headers(chosen, cache_control, vary_language=vary_language)
    if not_modified:
        return 304, [h for h in headers if h[0] != b"content-encoding"], b""
    headers += [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(chosen.body)).encode()),
    ]
    return 200, headers, chosen.body
