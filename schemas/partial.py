"""The parts of an invalid request body that are valid on their own.

A body that fails its schema is still worth reading: the fields that passed can be checked
against the database in the same round trip, so that a form learns every problem from one 422.
"""

from functools import cache
from typing import Annotated, Any, get_args

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds (`Model` or `Model | None`), if it holds one."""
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


@cache
def _adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    info: FieldInfo = model.model_fields[name]
    annotated: Any = (
        Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
    )
    return TypeAdapter(annotated)


def valid_parts(model: type[BaseModel], raw: object) -> dict[str, Any]:
    """`raw`'s fields that validate on their own, validated, plus the defaults of absent ones.

    A field that fails is left out, so `name in result` means "given and valid, or defaulted".
    Nested models are read the same way, one level at a time; a list of models keeps its
    indexes, with None for an item that fails."""
    if not isinstance(raw, dict):
        return {}
    parts: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key not in raw:
            if not info.is_required():
                default = info.get_default(call_default_factory=True)
                parts[name] = default.model_dump() if isinstance(default, BaseModel) else default
            continue
        value = raw[key]
        nested = _model_in(info.annotation)
        if nested is not None and isinstance(value, dict):
            parts[name] = valid_parts(nested, value)
            continue
        item_model = _list_item_model(info.annotation)
        if item_model is not None and isinstance(value, list):
            # A list over its bound (or otherwise wrong as a whole) is reported as one error;
            # its items are looked at only when the list itself is acceptable.
            if not _list_level_errors(model, name, value):
                parts[name] = [_whole(item_model, item) for item in value]
            continue
        try:
            parts[name] = _adapter(model, name).validate_python(value)
        except ValidationError:
            continue
    return parts


def _list_item_model(annotation: Any) -> type[BaseModel] | None:
    args = get_args(annotation)
    return _model_in(args[0]) if len(args) == 1 else None


def _list_level_errors(model: type[BaseModel], name: str, value: list[Any]) -> bool:
    try:
        _adapter(model, name).validate_python(value)
    except ValidationError as exc:
        return any(not error["loc"] for error in exc.errors())
    return False


def _whole(model: type[BaseModel], item: object) -> dict[str, Any] | None:
    try:
        return model.model_validate(item).model_dump()
    except ValidationError:
        return None
