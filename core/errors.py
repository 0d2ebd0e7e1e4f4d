"""Domain errors that one handler turns into RFC 9457 problem+json."""

from typing import Any


class DomainError(Exception):
    """Base for errors the services raise; carries an HTTP status and a machine code."""

    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
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


class ContentError(Exception):
    """A content file is invalid; lists every problem found, each naming the file and field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
