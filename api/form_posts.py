"""HTML forms without JavaScript: a `application/x-www-form-urlencoded` body read as the JSON
document it stands for, so it meets the same validation, checks and problems as JSON does.

Names follow the JSON fields: dotted for nested ones (`consent.contact`, `source.article_slug`),
repeated for lists (`therapies=iv-ketamine&therapies=nad-plus`), with an index for a list of
objects (`source.disclaimers_shown.0.key`). A checkbox's "true" or "on" is true ("false" or
"off" false); an empty input is left out, as if the field were not sent. Two names are the
form's own, never the model's: `idempotency_key` (a form cannot set the header) and `return_to`
(where the browser is sent back with a 303; it must be on an origin listed in
`CLINIC_CORS_ORIGINS`, so the API redirects nowhere else)."""

import re
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message

from core.net import authority, parse_http_url

if TYPE_CHECKING:
    import httpx

FORM_MEDIA = "application/x-www-form-urlencoded"
IDEMPOTENCY_FIELD = "idempotency_key"
RETURN_FIELD = "return_to"
# More inputs than any consultation form has: a body of thousands of names is refused whole,
# and so is a name nested deeper than any field (source.disclaimers_shown.0.key is 4).
MAX_FIELDS = 200
MAX_DEPTH = 6
# A list index: ASCII digits only ("²".isdigit() is true, and int("²") raises).
_INDEX = re.compile(r"[0-9]{1,4}")
_TRUE, _FALSE = frozenset({"true", "on"}), frozenset({"false", "off"})
_INTEGER = re.compile(r"-?[0-9]{1,18}")


@dataclass(frozen=True)
class FormPost:
    """A form body as the JSON document it stands for, and the form's own two fields."""

    document: dict[str, Any]
    idempotency_key: str | None
    return_to: str | None


def is_form(request: Request) -> bool:
    """Whether the body is an HTML form's (`application/x-www-form-urlencoded`)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return media == FORM_MEDIA


def other_charset(request: Request) -> bool:
    """Whether the form declares a character set other than UTF-8 (what browsers send, and
    the only one read)."""
    for parameter in request.headers.get("content-type", "").split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip(' "').lower() != "utf-8":
            return True
    return False


def wants_html(request: Request) -> bool:
    """Whether a browser is navigating (it asks for a page, not for JSON)."""
    return "text/html" in request.headers.get("accept", "").lower()


def read_form(model: type[BaseModel], raw: bytes) -> FormPost:
    """`raw` as a form for `model`; a body that is no form text (not UTF-8, its percent-escapes
    included; more than MAX_FIELDS names; a name more than MAX_DEPTH deep) is a 422 naming
    `body`, never text mended with replacement characters."""
    try:
        pairs = parse_qsl(
            raw.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=MAX_FIELDS,
            encoding="utf-8",
            errors="strict",
        )
    except (UnicodeDecodeError, ValueError):
        raise _form_invalid() from None
    if any(name.count(".") >= MAX_DEPTH for name, _ in pairs):
        raise _form_invalid()
    own: dict[str, str | None] = {IDEMPOTENCY_FIELD: None, RETURN_FIELD: None}
    fields: list[tuple[str, str]] = []
    for name, value in pairs:
        if name in own:
            own[name] = value or None  # one of each: a later one wins, as a form's would
        else:
            fields.append((name, value))
    return FormPost(form_document(model, fields), own[IDEMPOTENCY_FIELD], own[RETURN_FIELD])


def _form_invalid() -> RequestValidationError:
    return RequestValidationError(
        [
            {
                "loc": ("body",),
                "msg": f"A form body is UTF-8 text (percent-escapes included) of at most "
                f"{MAX_FIELDS} names, each at most {MAX_DEPTH} parts deep.",
                "type": "form_invalid",
            }
        ]
    )


def form_document(model: type[BaseModel], fields: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """The JSON document that form `fields` stand for, shaped by `model`'s field types (which
    are lists, which booleans, which nested); a name the model lacks is kept as sent, so
    validation names it."""
    document: dict[str, Any] = {}
    for name, value in fields:
        if value == "":
            continue  # an empty input: not sent
        path = name.split(".")
        kind = _kind(model, path)
        node = document
        for depth, part in enumerate(path[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise _conflict(path[: depth + 1])
            node = child
        leaf = path[-1]
        if isinstance(node.get(leaf), dict):
            raise _conflict(path)
        converted = _convert(kind, value)
        if kind == "list":
            node.setdefault(leaf, []).append(converted)
        elif leaf in node:  # one value was expected: keep all, and validation says so
            earlier = node[leaf]
            node[leaf] = [*(earlier if isinstance(earlier, list) else [earlier]), converted]
        else:
            node[leaf] = converted
    shaped: dict[str, Any] = _indexed_lists(document)
    return shaped


def _kind(model: type[BaseModel] | None, path: Sequence[str]) -> str:
    """What the field at `path` holds: "list", "bool" or "value"."""
    kind = "value"
    for part in path:
        field = model.model_fields.get(part) if model is not None else None
        if field is None:
            if _INDEX.fullmatch(part) and kind == "list-of-models":
                kind = "value"  # an index into a list of objects: go on in the item's model
                continue
            return "value"
        model, kind = _inner(field.annotation)
    return "list" if kind == "list-of-values" else kind


def _inner(annotation: Any) -> tuple[type[BaseModel] | None, str]:
    """The model a field nests (if any) and what it holds, past Optional and Annotated."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            kept = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(kept) != 1:
                return None, "value"
            annotation = kept[0]
        else:
            break
    if origin in (list, tuple, set, frozenset):
        (item,) = typing.get_args(annotation)[:1] or (Any,)
        nested, _ = _inner(item)
        return (nested, "list-of-models") if nested is not None else (None, "list-of-values")
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, "model"
    if annotation is bool or (
        origin is typing.Literal and all(isinstance(a, bool) for a in typing.get_args(annotation))
    ):
        return None, "bool"  # a checkbox (consent.contact is Literal[True])
    if annotation is int:
        return None, "int"
    return None, "value"


def _convert(kind: str, value: str) -> Any:
    if kind == "bool":
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    if kind == "int" and _INTEGER.fullmatch(value):
        return int(value)
    return value  # anything else as sent: the field then refuses it by name


def _indexed_lists(node: Any) -> Any:
    """`{"0": {...}, "1": {...}}` (from `name.0.key`) as the list it stands for."""
    if not isinstance(node, dict):
        return node
    converted = {k: _indexed_lists(v) for k, v in node.items()}
    if converted and all(_INDEX.fullmatch(k) for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


def _conflict(path: Sequence[str]) -> RequestValidationError:
    return RequestValidationError(
        [
            {
                "loc": ("body", *path),
                "msg": "A form name is either a value or a group of fields (name.field), not both.",
                "type": "form_conflict",
            }
        ]
    )


def as_json_request(request: Request, post: FormPost) -> Request:
    """The same request with the form's document as its JSON body (and its Idempotency-Key
    header from the form's field), for the route to read like any JSON request."""
    body = orjson.dumps(post.document)
    replaced = {b"content-type", b"content-length"}
    if post.idempotency_key is not None:
        replaced.add(b"idempotency-key")
    headers = [(n, v) for n, v in request.scope["headers"] if n not in replaced]
    headers += [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    if post.idempotency_key is not None:
        # As sent: a key that is no header text is refused by the header's own rule, not mended.
        headers.append((b"idempotency-key", post.idempotency_key.encode("utf-8")))
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request({**request.scope, "headers": headers}, receive)


def cross_site(request: Request, allowed_origins: Sequence[str]) -> bool:
    """Whether a browser on a page of another site sent this form. A form post needs no CORS
    preflight, so any site could otherwise make its visitors' browsers submit requests under
    their addresses. A form from a listed origin, and a client that is no browser (no Origin,
    no Sec-Fetch-Site), pass."""
    origin = request.headers.get("origin")
    if origin is not None:
        try:
            return _origin(parse_http_url(origin)) not in _allowed(allowed_origins)
        except ValueError:
            return True  # "null" (a sandboxed frame, a privacy redirect) or worse
    return request.headers.get("sec-fetch-site", "").lower() == "cross-site"


def _allowed(allowed_origins: Sequence[str]) -> set[str]:
    return {_origin(parse_http_url(o)) for o in allowed_origins if o != "*"}


def return_address(value: str, allowed_origins: Sequence[str]) -> str:
    """`value` when it is an absolute URL on one of `allowed_origins` (listed, not `*`);
    else a ValueError saying why."""
    url = parse_http_url(value)
    if _origin(url) not in _allowed(allowed_origins):
        raise ValueError(
            "return_to must be on an origin listed in CLINIC_CORS_ORIGINS: the API sends the "
            "browser back there and nowhere else."
        )
    return str(url)


def _origin(url: "httpx.URL") -> str:
    return f"{url.scheme}://{authority(url)}"


# What a 303 adds to the page's query (any the page's own URL had go first: a page that posts
# its current address must not come back with an older answer's).
_ANSWER_PARAMS = frozenset({"lead", "error", "field"})
# The fields a failure names, at most: a body of a hundred unknown names must not make a
# Location header longer than a proxy takes.
MAX_FIELDS_NAMED = 20


def see_other(return_to: str, params: Sequence[tuple[str, str]]) -> Response:
    """A 303 back to the form's page, with `params` in place of any answer its query had."""
    parts = urlsplit(return_to)
    given = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in given if k not in _ANSWER_PARAMS]
    query = [*kept, *params]
    location = urlunsplit(parts._replace(query=urlencode(query)))
    return Response(status_code=303, headers={"Location": location})


def failure_params(code: str, fields: Iterable[str]) -> list[tuple[str, str]]:
    """`error=<problem code>` and a `field=` per input in error, by its form name (the
    Idempotency-Key header is the form's `idempotency_key`)."""
    named = dict.fromkeys(_form_name(f) for f in fields if f not in ("body", ""))
    return [("error", code), *(("field", n) for n in list(named)[:MAX_FIELDS_NAMED])]


def _form_name(field: str) -> str:
    if field.lower() == "header.idempotency-key":
        return IDEMPOTENCY_FIELD
    return field.removeprefix("body.")
