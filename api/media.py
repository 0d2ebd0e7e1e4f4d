"""Image renditions, served immutable: each name holds the hash of its bytes."""

from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from api.deps import read_only_session
from api.http_cache import etag_matches
from core.errors import NotFoundError
from schemas.common import problem_responses
from services.content import media

router = APIRouter(tags=["media"])

IMMUTABLE = "public, max-age=31536000, immutable"
_BINARY = {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}


@router.get(
    "/media/{name}",
    name="get_media",
    summary="Get an image rendition",
    response_class=Response,
    responses={
        200: {
            "description": "The image bytes; the name never changes meaning, so it is cached "
            "for a year (`immutable`).",
            "content": {mime: _BINARY for mime in ("image/avif", "image/webp", "image/jpeg")},
        },
        **problem_responses(304, 404, 422),
    },
)
async def get_media(
    request: Request,
    name: Annotated[str, Path(examples=["iv-ketamine-hero-960w-3f2a9c1b7d4e5f60.webp"])],
) -> Response:
    """One rendition named in an article's or therapy's `hero_image.renditions`; any other
    name is a 404."""

    def find() -> tuple[bytes, str] | None:
        with read_only_session(request) as session:
            row = media.find(session=session, name=name)
            return None if row is None else (row.data, row.mime_type)

    found = await run_in_threadpool(find)
    if found is None:
        raise NotFoundError("No image has this name.", code="media_not_found")
    data, mime_type = found
    etag = '"' + name.rsplit("-", 1)[1].split(".", 1)[0] + '"'
    headers = {"ETag": etag, "Cache-Control": IMMUTABLE}
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(content=data, media_type=mime_type, headers=headers)
