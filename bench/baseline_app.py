"""The floor: a bare Starlette app that answers with the very bytes the real API produced,
from memory (and, for POST, validates the same JSON model and stores nothing)."""

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
        "status": "received",
        "created_at": "2026-01-01T00:00:00Z",
    }
)


async def replay(request: Request) -> Response:
    """Serve the recorded response for this path and query; 304 for a matching ETag."""
    key = request.url.path + ("?" + request.url.query if request.url.query else "")
    fixture = FIXTURES.get(key)
    if fixture is None:
        return Response(status_code=404)
    headers, body = fixture
    if request.headers.get("if-none-match") == headers.get("etag"):
        return Response(status_code=304, headers=headers)
    return Response(body, headers=headers, media_type="application/json")


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
        Route("/{path:path}", replay),
    ]
)
