"""Shared wire shapes: problem details, list envelopes and pagination."""

from typing import Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def integral(value: Any) -> Any:
    """A whole number written as a float, as the int it is: JSON has one number type, and
    `152.0` is the integer 152 to JSON Schema (and to clients that write every number as a
    float). `WHOLE_NUMBER` below applies it: `152.5`, "152" and `true` are still refused."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# An integer in a request body is a JSON integer, or a float that is a whole number (as JSON
# Schema counts it); never a string or a boolean:
# `Annotated[int, Field(strict=True, ge=..., le=...), WHOLE_NUMBER]`. It goes last, after the
# bounds, so that they stay `minimum` and `maximum` in the contract.
WHOLE_NUMBER = BeforeValidator(integral)

# A cursor over a list ordered by an integer id (services/cursors.py): 16 hex digits.
ID_CURSOR_PATTERN = r"^[0-7][0-9a-f]{15}$"


class FieldError(BaseModel):
    """One invalid field in a 422 problem."""

    field: str = Field(description="Dotted path of the field, e.g. `query.page_size`.")
    message: str
    type: str = Field(description="Machine-readable error type.")


class Problem(BaseModel):
    """RFC 9457 problem details, served as application/problem+json."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "example": {
                "type": "https://clinic.example/problems/article_not_found",
                "title": "Not found",
                "status": 404,
                "detail": "No published article 'foo' in locale 'en'.",
                "instance": "/v1/articles/foo",
                "code": "article_not_found",
            }
        },
    )

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    code: str
    errors: list[FieldError] | None = None


class PageMeta(BaseModel):
    """Where a page sits in the whole list."""

    total: int
    page: int
    page_size: int
    total_is_estimate: bool = Field(
        default=False,
        description="True when `total` is an estimate: a search counts exactly up to 1,000 hits.",
    )


class PageLinks(BaseModel):
    """Links to neighbouring pages (relative URLs with the same filters)."""

    self: str
    first: str
    last: str
    next: str | None = None
    prev: str | None = None


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries documenting problem+json errors."""
    descriptions = {
        304: "Not modified: the `If-None-Match` ETag is current.",
        400: "Bad request.",
        401: "Missing or invalid API key.",
        403: "The API key lacks the required scope.",
        404: "Not found.",
        409: "Conflict.",
        412: "Precondition failed: the `If-Match` ETag is not the current one; read again.",
        428: "Precondition required: send `If-Match` with the ETag you read.",
        410: "Gone: the cursor is older than the history kept (`cursor_expired`); resync.",
        413: "Request body too large.",
        415: "Unsupported media type.",
        422: "Validation failed; `errors` names each bad field.",
        429: "Rate limited; see `Retry-After`.",
        503: "Temporarily unavailable (e.g. an article withheld until its required "
        "disclaimers are restored).",
    }
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        if status == 304:
            out[status] = {"description": descriptions[status]}
            continue
        out[status] = {
            "description": descriptions.get(status, "Error."),
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            },
        }
    return out
