"""JSON responses with a strong ETag, Cache-Control, and 304 on a matching If-None-Match."""

import hashlib

from starlette.requests import Request
from starlette.responses import Response

from core.config import Settings


def make_etag(body: bytes) -> str:
    """A strong ETag derived from the exact response bytes."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


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


def cached_bytes(request: Request, body: bytes, etag: str, settings: Settings) -> Response:
    """Serve ready JSON bytes with their ETag, or 304."""
    headers = {"ETag": etag, "Cache-Control": cache_control(settings)}
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type="application/json", headers=headers)
