"""Build RFC 9457 problem+json responses."""

from typing import Any

import orjson
from starlette.responses import Response

PROBLEM_TYPE_BASE = "https://clinic.example/problems/"
MEDIA_TYPE = "application/problem+json"


def problem_response(
    *,
    status: int,
    title: str,
    code: str,
    detail: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """A problem+json response; `code` is the stable machine-readable identifier."""
    body = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code,
        **extra,
    }
    return Response(
        content=orjson.dumps(body), status_code=status, media_type=MEDIA_TYPE, headers=headers
    )
