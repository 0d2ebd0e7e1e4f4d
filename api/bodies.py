"""Parsing a body the route had to read raw (to verify its signature first)."""

from typing import TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


def parse_json_body(model: type[Model], raw: bytes) -> Model:
    """`raw` as `model`; invalid JSON or fields are the usual 422 naming each `body.` field."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        ) from None
