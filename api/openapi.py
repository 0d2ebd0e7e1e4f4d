"""The OpenAPI document clients are generated from: FastAPI's, shaped here and only here.

What FastAPI cannot say on its own is added once the document is built: servers, license and
contact; `security: []` on public operations and each admin operation's scope in words; the
headers responses carry and the conditional-request parameter; shared components (problem
details, the CRM event, webhook payloads); the outbound `webhooks`; request schemas without
`default` keywords (generators would make those fields required); and query parameters
without the `null` branch a query string cannot carry."""

import json
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from api.openapi_webhooks import EVENT_MODELS, SIGNATURE_HEADERS, webhooks
from core.logging import REQUEST_ID_PATTERN
from schemas.common import Problem
from schemas.webhooks import CrmEvent

Json = dict[str, Any]
REF = "#/components/schemas/{model}"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

LICENSE = {"name": "Proprietary", "identifier": "LicenseRef-Proprietary"}
CONTACT = {"name": "Clinic API team", "url": "https://clinic.example/developers"}
SERVERS = [{"url": "/", "description": "The origin this document is served from."}]

_HEADERS: dict[str, Json] = {
    "ETag": {
        "description": "Strong validator of the representation; send it back in `If-None-Match`.",
        "schema": {"type": "string", "pattern": '^"[!#-~]+"$'},
    },
    "Cache-Control": {
        "description": "`public, max-age=…, stale-while-revalidate=…` on public reads.",
        "schema": {"type": "string"},
    },
    "Vary": {
        "description": "`Accept-Encoding` on bodies sent compressed or compressible; "
        "`Accept-Language` when it chose the locale (no `locale` parameter); `Origin` when a "
        "CORS request comes from an allowed origin.",
        "schema": {"type": "string"},
    },
    "Content-Language": {
        "description": "The locale of the content served (also its `locale` field).",
        "schema": {"type": "string"},
    },
    "X-Request-ID": {
        "description": "The request's id: the `X-Request-ID` the client sent when it is a "
        "plausible id (1-128 of `A-Z a-z 0-9 . _ : + / = -`), else a new one. Quote it when "
        "asking about a request; webhooks it caused carry it as `clinic-request-id`.",
        "schema": {"type": "string", "pattern": REQUEST_ID_PATTERN},
    },
    "Location": {
        "description": "Where the created resource is read: "
        "`/v1/admin/consultation-requests/{id}` or `/v1/admin/webhook-endpoints/{id}`.",
        "schema": {"type": "string"},
    },
    "Idempotent-Replayed": {
        "description": "`true` when this answer replays an earlier request's "
        "(same `Idempotency-Key`).",
        "schema": {"type": "string", "const": "true"},
    },
    "RateLimit-Limit": {
        "description": "Requests allowed in the current window (IETF RateLimit fields).",
        "schema": {"type": "integer", "minimum": 0},
    },
    "RateLimit-Remaining": {
        "description": "Requests left in the current window.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "RateLimit-Reset": {
        "description": "Seconds until the window resets.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 1},
    },
}
_RATE = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
_PARAMETERS: dict[str, Json] = {
    "If-None-Match": {
        "name": "If-None-Match",
        "in": "header",
        "required": False,
        "description": "An `ETag` from an earlier answer: `304 Not Modified` while it is current.",
        "schema": {"type": "string"},
    },
    **SIGNATURE_HEADERS,
}
# What a created resource's id opens (OpenAPI links: clients and stateful fuzzing follow them).
_ID = "$response.body#/id"
_LINKS: dict[tuple[str, str], dict[str, tuple[str, str]]] = {
    ("create_consultation_request", "201"): {
        "GetConsultationRequest": ("get_consultation_request", "lead_id"),
        "UpdateConsultationRequest": ("update_consultation_request", "lead_id"),
        "EraseConsultationRequest": ("erase_consultation_request", "lead_id"),
    },
    ("create_webhook_endpoint", "201"): {
        "GetWebhookEndpoint": ("get_webhook_endpoint", "endpoint_id"),
        "UpdateWebhookEndpoint": ("update_webhook_endpoint", "endpoint_id"),
        "DeleteWebhookEndpoint": ("delete_webhook_endpoint", "endpoint_id"),
        "PauseWebhookEndpoint": ("pause_webhook_endpoint", "endpoint_id"),
        "ResumeWebhookEndpoint": ("resume_webhook_endpoint", "endpoint_id"),
        "RotateWebhookSecret": ("rotate_webhook_secret", "endpoint_id"),
        "TestWebhookEndpoint": ("test_webhook_endpoint", "endpoint_id"),
        "ListWebhookDeliveries": ("list_webhook_deliveries", "endpoint_id"),
    },
    ("test_webhook_endpoint", "202"): {
        "RedeliverWebhook": ("redeliver_webhook", "delivery_id"),
    },
}
_PROBLEM = {"application/problem+json": {"schema": {"$ref": REF.format(model="Problem")}}}
_QUERY_400 = "a query parameter the operation does not take, or a single-valued one sent twice"
_BAD_BODY: Json = {
    "description": f"The body is not JSON text (`malformed_json`), or {_QUERY_400}.",
    "content": _PROBLEM,
}
_UNSUPPORTED_BODY: Json = {
    "description": "A body the operation does not read (`unsupported_media_type`: not JSON; "
    "the consultation request also reads a UTF-8 HTML form) or that is compressed "
    "(`unsupported_content_encoding`, with `Accept-Encoding: identity`).",
    "content": _PROBLEM,
}
_LATE_BODY: Json = {
    "description": "The body did not arrive in whole within `CLINIC_BODY_TIMEOUT` seconds "
    "(`request_timeout`); the connection is closed.",
    "content": _PROBLEM,
}
_UNAVAILABLE: Json = {
    "description": "The database cannot be reached just now (`database_unavailable`): retry "
    "after `Retry-After` seconds. Never a 500: a client can tell a fault to retry from a bug.",
    "content": _PROBLEM,
}
_BAD_QUERY: Json = {
    "description": f"Bad request: {_QUERY_400} (named in `errors`).",
    "content": _PROBLEM,
}


def install(app: FastAPI) -> None:
    """Serve the shaped document from `app.openapi()` (and so from `/openapi.json`)."""
    original = app.openapi

    def openapi() -> Json:
        if app.openapi_schema:
            return app.openapi_schema
        app.openapi_schema = shape(original())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def shape(document: Json) -> Json:
    """FastAPI's document with everything this module adds."""
    document["info"].update(license=LICENSE, contact=CONTACT)
    document["servers"] = SERVERS
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    models: tuple[type[BaseModel], ...] = (Problem, CrmEvent, *EVENT_MODELS)
    for model in models:
        _add_model(schemas, model)
    components["parameters"] = _PARAMETERS
    for path, method, operation in _operations(document):
        _security(operation)
        _parameters(operation)
        _responses(path, method, operation)
    for schema in _request_schemas(document):
        _drop_defaults(schema)
    document["webhooks"] = webhooks()
    return document


def _add_model(schemas: Json, model: type[BaseModel]) -> None:
    schema = model.model_json_schema(ref_template=REF)
    schemas.update(schema.pop("$defs", {}))
    schemas[model.__name__] = schema


def _operations(document: Json) -> Iterator[tuple[str, str, Json]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def _security(operation: Json) -> None:
    """Public operations say so; admin ones name their scope in words too."""
    requirements = operation.get("security")
    if not requirements:
        operation["security"] = []
        return
    scopes = sorted({s for requirement in requirements for s in next(iter(requirement.values()))})
    needs = ", ".join(f"`{s}`" for s in scopes)
    operation["description"] = (
        f"{operation.get('description', '').rstrip()}\n\n"
        f"**Requires** an API key (`Authorization: Bearer <key>`) with scope {needs}."
    ).lstrip()


def _parameters(operation: Json) -> None:
    """No `null` branch (a query string cannot send one); `default` stated in words."""
    for parameter in operation.get("parameters", []):
        if "$ref" in parameter:
            continue
        schema = parameter["schema"]
        branches = schema.get("anyOf")
        if branches and {"type": "null"} in branches:
            kept = [b for b in branches if b != {"type": "null"}]
            outer = {k: v for k, v in schema.items() if k != "anyOf"}
            schema = {**kept[0], **outer} if len(kept) == 1 else {**outer, "anyOf": kept}
        if "default" in schema:
            parameter["description"] = _with_default(parameter.get("description"), schema)
            schema.pop("default")
        schema.pop("title", None)
        parameter["schema"] = schema


def _with_default(description: str | None, schema: Json) -> str:
    text = (description or "").rstrip()
    shown = json.dumps(schema["default"], ensure_ascii=False)
    return f"{text + ' ' if text else ''}Default: `{shown}`.".strip()


def _responses(path: str, method: str, operation: Json) -> None:
    responses: Json = operation["responses"]
    if "304" in responses:  # a public, cached read
        operation.setdefault("parameters", []).append(
            {"$ref": "#/components/parameters/If-None-Match"}
        )
        optional = ("Vary", "Content-Language")
        _headers(responses["200"], required=("ETag", "Cache-Control"), optional=optional)
        _headers(responses["304"], required=("ETag", "Cache-Control"), optional=optional)
    # Every operation refuses unknown query parameters (api/query_guard.py).
    responses["400"] = _BAD_BODY if "requestBody" in operation else _BAD_QUERY
    if "requestBody" in operation:
        responses["408"] = _LATE_BODY
        responses["415"] = _UNSUPPORTED_BODY
    if path == "/v1/consultation-requests" and method == "post":
        _headers(responses["201"], required=("Location",), optional=("Idempotent-Replayed", *_RATE))
    if path == "/v1/admin/webhook-endpoints" and method == "post":
        _headers(responses["201"], required=("Location",), optional=())
    if "429" in responses:
        _headers(responses["429"], required=("Retry-After",), optional=_RATE)
    # Every operation may meet a database that is away (api/middleware.py).
    responses.setdefault("503", {**_UNAVAILABLE})
    _headers(responses["503"], required=(), optional=("Retry-After",))
    for (operation_id, status), links in _LINKS.items():
        if operation.get("operationId") == operation_id:
            responses[status]["links"] = {
                name: {"operationId": target, "parameters": {parameter: _ID}}
                for name, (target, parameter) in links.items()
            }
    for response in responses.values():
        _headers(response, required=("X-Request-ID",), optional=())
    operation["responses"] = dict(sorted(responses.items()))


def _headers(response: Json, *, required: tuple[str, ...], optional: tuple[str, ...]) -> None:
    headers = response.setdefault("headers", {})
    for name in (*required, *optional):
        headers[name] = {**_HEADERS[name], "required": name in required}


def _request_schemas(document: Json) -> Iterator[Json]:
    """Every component schema a request body reaches (inline bodies too)."""
    schemas: Json = document["components"]["schemas"]
    seen: set[str] = set()
    pending: list[Json] = []
    for _, _, operation in _operations(document):
        for media in operation.get("requestBody", {}).get("content", {}).values():
            pending.append(media.get("schema", {}))
    while pending:
        node = pending.pop()
        yield node
        for ref in _refs(node):
            name = ref.rsplit("/", 1)[-1]
            if name not in seen and name in schemas:
                seen.add(name)
                pending.append(schemas[name])


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _drop_defaults(schema: Json) -> None:
    """A request field with a default is optional: say the default in words, not `default`
    (openapi-typescript's default options would make such a field required)."""
    for prop in schema.get("properties", {}).values():
        if "default" in prop:
            prop["description"] = _with_default(prop.get("description"), prop)
            del prop["default"]
