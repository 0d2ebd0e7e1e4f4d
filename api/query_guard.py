"""Strict query strings: a parameter an operation does not document is a 400 naming it, and
so is a single-valued one sent twice.

An app-wide dependency: every route runs it first, against the operation the router matched
(its documented parameters are the one declaration). A refused query string never reaches
the response cache either: the cache answers only the request forms a route has accepted, so
`?_=123` never makes an entry of its own. Paths and methods nobody documents are not its
business (they get their 404 or 405)."""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request

from core.errors import DomainError

_SHOWN = 10  # names echoed in one problem
_NAME_MAX = 64


class QueryRefusedError(DomainError):
    """A query string with a parameter its operation does not take, or takes once."""

    status = 400
    title = "Bad Request"


@dataclass(frozen=True)
class Operation:
    """The query parameters one documented operation takes."""

    names: frozenset[str]
    repeatable: frozenset[str]


Operations = dict[tuple[str, str], Operation]


def operations(document: dict[str, Any]) -> Operations:
    """Each documented operation's query parameters, by path template and method."""
    table: Operations = {}
    for template, item in document["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            query = [p for p in operation.get("parameters", []) if p.get("in") == "query"]
            table[(template, method.upper())] = Operation(
                names=frozenset(p["name"] for p in query),
                repeatable=frozenset(
                    p["name"] for p in query if p.get("schema", {}).get("type") == "array"
                ),
            )
    return table


class QueryGuard:
    """The dependency: refuses the request's query string when its operation would not take
    it (the table is read once, from the app's OpenAPI document)."""

    def __init__(self) -> None:
        self._table: Operations | None = None

    def _operation(self, request: Request) -> Operation | None:
        route = request.scope.get("route")
        if route is None:
            return None
        if self._table is None:
            document: Callable[[], dict[str, Any]] = request.app.openapi
            self._table = operations(document())
        return self._table.get((route.path_format, request.method))

    async def __call__(self, request: Request) -> None:
        query: bytes = request.scope["query_string"]
        if not query:
            return
        operation = self._operation(request)
        if operation is not None:
            check(query.decode("latin-1"), operation)


def _shown(names: list[str]) -> list[str]:
    unique = list(dict.fromkeys(names))[:_SHOWN]
    return [n if len(n) <= _NAME_MAX else n[:_NAME_MAX] + "…" for n in unique]


def check(query: str, operation: Operation) -> None:
    """Raise QueryRefusedError naming the parameters `operation` does not take in `query`."""
    names = [name for name, _ in parse_qsl(query, keep_blank_values=True)]
    unknown = _shown([n for n in names if n not in operation.names])
    if unknown:
        raise _refused(
            "unknown_query_parameter",
            f"Unknown query parameter(s): {', '.join(unknown)}. This operation takes: "
            f"{', '.join(sorted(operation.names)) or 'none'}.",
            unknown,
            "unknown_parameter",
            "Unknown query parameter.",
        )
    repeated = _shown(
        [n for n, count in Counter(names).items() if count > 1 and n not in operation.repeatable]
    )
    if repeated:
        raise _refused(
            "repeated_query_parameter",
            f"Query parameter(s) sent more than once: {', '.join(repeated)}.",
            repeated,
            "repeated_parameter",
            "Takes one value.",
        )


def _refused(
    code: str, detail: str, names: list[str], kind: str, message: str
) -> QueryRefusedError:
    return QueryRefusedError(
        detail,
        code=code,
        errors=[{"field": f"query.{n}", "message": message, "type": kind} for n in names],
    )
