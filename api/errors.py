"""Exception handlers: every error leaves as problem+json, never a stack trace."""

import logging
from collections.abc import Sequence
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from api.openapi import HTTP_METHODS
from api.problems import problem_response
from core.errors import DomainError, ValidationFailedError

log = logging.getLogger("clinic.errors")

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
}


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


# Services name the inputs they were given; these came from the URL or headers, not the body.
_PARAMETER_LOCATIONS = {
    "idempotency_key": "header.Idempotency-Key",
    "cursor": "query.cursor",
    "since": "query.since",
    "webhook_id": "header.webhook-id",
}


def field_name(loc: Sequence[str | int]) -> str:
    """A validation location as the dotted field name a 422 reports, e.g. `body.consent.sms`."""
    return ".".join(str(p) for p in loc)


def located(field: str) -> str:
    """Where a field that a service names (`consent.sms`, `cursor`) sits in the request."""
    head = field.split(".", 1)[0]
    if head in _PARAMETER_LOCATIONS:
        return _PARAMETER_LOCATIONS[head] + field[len(head) :]
    return field_name(("body", field))


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    headers = dict(exc.headers or {})
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"No resource at {request.url.path}."
    if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
        return _malformed_json(request)  # FastAPI could not read the body as text
    if exc.status_code == 405:
        # Starlette names the methods of the first route on the path only.
        allow = allowed_methods(request)
        if allow:
            headers["Allow"] = allow
    return problem_response(
        status=exc.status_code,
        title=_title(exc.status_code),
        code=_CODES.get(exc.status_code, "error"),
        detail=detail,
        instance=request.url.path,
        headers=headers,
    )


def allowed_methods(request: Request) -> str | None:
    """`Allow` for the request's path: every method its operations document (Starlette names
    the methods of the first route on the path only); HEAD wherever GET is."""
    route = request.scope.get("route")
    template = getattr(route, "path_format", None)
    item = request.app.openapi()["paths"].get(template, {}) if template else {}
    methods = [m.upper() for m in HTTP_METHODS if m in item]
    if "GET" in methods:
        methods.insert(methods.index("GET") + 1, "HEAD")
    return ", ".join(methods) or None


def _malformed_json(request: Request) -> Response:
    """The documented 400 for a body that is not JSON text, whatever found it."""
    return problem_response(
        status=400,
        title=_title(400),
        code="malformed_json",
        detail="The body is not JSON text.",
        instance=request.url.path,
    )


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    found = exc.errors()
    if found and all(e["type"] == "json_invalid" for e in found):
        return _malformed_json(request)  # not a field's problem: the body is not JSON text
    errors = [
        {"field": field_name(e["loc"]), "message": e["msg"], "type": e["type"]} for e in found
    ]
    return problem_response(
        status=422,
        title="Unprocessable Content",
        code="validation_failed",
        detail=f"{len(errors)} field(s) failed validation.",
        instance=request.url.path,
        errors=errors,
    )


async def _domain(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    extra = exc.extra
    if isinstance(exc, ValidationFailedError):
        extra = {**extra, "errors": [{**e, "field": located(e["field"])} for e in extra["errors"]]}
    return problem_response(
        status=exc.status,
        title=exc.title,
        code=exc.code,
        detail=exc.detail,
        instance=request.url.path,
        headers=exc.headers,
        **extra,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the problem+json handlers on the app."""
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(DomainError, _domain)
