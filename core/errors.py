"""Domain errors that one handler turns into RFC 9457 problem+json."""

from typing import Any


class DomainError(Exception):
    """Base for errors the services raise; carries an HTTP status and a machine code."""

    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"
    headers: dict[str, str] = {}

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.headers = {**self.headers, **(headers or {})}
        self.extra = extra


class NotFoundError(DomainError):
    """The requested resource does not exist or is not public."""

    status = 404
    code = "not_found"
    title = "Not found"


class ConflictError(DomainError):
    """The request conflicts with the current state of a resource."""

    status = 409
    code = "conflict"
    title = "Conflict"


class GoneError(DomainError):
    """What the request points at existed once and is gone for good (an expired cursor)."""

    status = 410
    code = "gone"
    title = "Gone"


class ContentError(Exception):
    """A content file is invalid; lists every problem found, each naming the file and field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class ValidationFailedError(DomainError):
    """Input is well-formed but wrong; `errors` names each bad field."""

    status = 422
    code = "validation_failed"
    title = "Unprocessable Content"

    def __init__(self, errors: list[dict[str, str]], *, code: str | None = None) -> None:
        super().__init__(f"{len(errors)} field(s) failed validation.", code=code, errors=errors)


class UnauthorizedError(DomainError):
    """No valid API key."""

    status = 401
    code = "unauthorized"
    title = "Unauthorized"
    headers = {"WWW-Authenticate": 'Bearer realm="clinic"'}


class ForbiddenError(DomainError):
    """The API key lacks the scope the operation needs."""

    status = 403
    code = "forbidden"
    title = "Forbidden"


class RateLimitedError(DomainError):
    """Too many requests from one client."""

    status = 429
    code = "rate_limited"
    title = "Too Many Requests"


class UnsupportedMediaTypeError(DomainError):
    """The request body is not JSON."""

    status = 415
    code = "unsupported_media_type"
    title = "Unsupported Media Type"


class BlockedAddressError(ValidationFailedError):
    """A URL's host does not resolve, or resolves to a private, loopback or reserved address."""

    def __init__(self, message: str) -> None:
        super().__init__([{"field": "url", "type": "invalid_url", "message": message}])


class ComplianceHoldError(DomainError):
    """A published article cannot be served: a disclaimer the policy requires has no text."""

    status = 503
    code = "article_withheld"
    title = "Service Unavailable"


class PreconditionFailedError(DomainError):
    """An `If-Match` names a version that is no longer current: someone wrote in between."""

    status = 412
    code = "precondition_failed"
    title = "Precondition Failed"


class PreconditionRequiredError(DomainError):
    """A write that could overwrite another's needs `If-Match` with the version it read."""

    status = 428
    code = "precondition_required"
    title = "Precondition Required"


class PayloadTooLargeError(DomainError):
    """A body the route read whole is over what it takes (an image over the byte or pixel
    limit)."""

    status = 413
    code = "payload_too_large"
    title = "Content Too Large"
