"""The floor: bare Starlette routes that answer with the very bytes and headers the real API
produced, built once in memory (and, for POST, validate the same JSON model and store nothing).
Nothing else runs per request: no URL parsing, no logging, no middleware."""

import base64
import os
from pathlib import Path

import orjson
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from schemas.leads import ConsultationRequestCreate

FIXTURES: dict[str, tuple[dict[str, str], bytes]] = {
    key: (value["headers"], base64.b64decode(value["body"]))
    for key, value in orjson.loads(
        Path(os.environ.get("BENCH_FIXTURES", "/dev/null")).read_bytes() or b"{}"
    ).items()
}
RECEIPT = orjson.dumps(
    {
        "id": "00000000-0000-0000-0000-000000000000",
        "status": "new",
        "created_at": "2026-01-01T00:00:00Z",
    }
)


def _route(path: str, variants: dict[bytes, tuple[dict[str, str], bytes]]) -> Route:
    """The cheapest route that sends the recorded bytes and headers for `path`: the responses
    are built once, the query string picks one without being parsed, and a 304 is one header
    comparison."""
    ready = {
        query: (
            Response(body, headers=headers, media_type="application/json"),
            Response(status_code=304, headers=headers),
            headers.get("etag", "").encode(),
        )
        for query, (headers, body) in variants.items()
    }

    async def endpoint(request: Request) -> Response:
        found = ready.get(request.scope["query_string"])
        if found is None:
            return Response(status_code=404)
        full, not_modified, etag = found
        for name, value in request.scope["headers"]:
            if name == b"if-none-match" and value == etag:
                return not_modified
        return full

    return Route(path, endpoint)


def _routes() -> list[Route]:
    by_path: dict[str, dict[bytes, tuple[dict[str, str], bytes]]] = {}
    for key, fixture in FIXTURES.items():
        path, _, query = key.partition("?")
        by_path.setdefault(path, {})[query.encode()] = fixture
    return [_route(path, variants) for path, variants in by_path.items()]


async def validate_only(request: Request) -> Response:
    """Validate a consultation request with the same model; store nothing."""
    try:
        ConsultationRequestCreate.model_validate_json(await request.body())
    except ValidationError:
        return Response(status_code=422)
    return Response(RECEIPT, status_code=201, media_type="application/json")


async def healthz(_: Request) -> Response:
    """Liveness, so that the same start-up check works."""
    return Response(b'{"status":"ok"}', media_type="application/json")


app = Starlette(
    routes=[
        Route("/healthz", healthz),
        Route("/v1/consultation-requests", validate_only, methods=["POST"]),
        *_routes(),
    ]
)
