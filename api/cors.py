"""CORS: Starlette's middleware, with a refused preflight answered as problem+json like every
other error (Starlette answers it in plain text)."""

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from api.problems import problem_response

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
