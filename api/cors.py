"""CORS: Starlette's middleware, with a refused preflight answered as problem+json like every
other error (Starlette answers it in plain text)."""

from typing import Any

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from api.problems import problem_response
from core.config import Settings

_REFUSAL_PREFIX = "Disallowed CORS "
_BODY_HEADERS = frozenset({"content-type", "content-length"})


class ProblemCORSMiddleware(CORSMiddleware):
    """`CORSMiddleware` whose refused preflights are `400 cors_refused` problems naming what
    was refused (origin, method, headers, private-network)."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        refused = bytes(response.body).decode().removeprefix(_REFUSAL_PREFIX)
        headers = {k: v for k, v in response.headers.items() if k.lower() not in _BODY_HEADERS}
        return problem_response(
            status=400,
            title="Bad Request",
            code="cors_refused",
            detail=f"This cross-origin request is not allowed (refused: {refused}). "
            "The API's CLINIC_CORS_ORIGINS setting lists the origins it accepts.",
            headers=headers,
            refused=refused.split(", "),
        )


def cors_options(settings: Settings) -> dict[str, Any]:
    """The CORS policy: the origins CLINIC_CORS_ORIGINS lists, what a form and a staff tool
    send, and the headers a script on those origins may read."""
    return {
        "allow_origins": settings.cors_origins,
        "allow_methods": ["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
        "allow_headers": [
            "Authorization",
            "Content-Type",
            "Idempotency-Key",
            "If-None-Match",
            "X-Request-ID",
            # W3C trace context, which browser instrumentation (OpenTelemetry) adds.
            "traceparent",
            "tracestate",
        ],
        "expose_headers": [
            "ETag",
            "Location",
            "Retry-After",
            "RateLimit-Limit",
            "RateLimit-Remaining",
            "RateLimit-Reset",
            "RateLimit-Policy",
            "Idempotent-Replayed",
            "X-Request-ID",
        ],
        "max_age": 600,
    }
