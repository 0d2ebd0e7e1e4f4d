"""Strict query strings: a parameter an operation does not document is a 400 naming it, and
so is a single-valued one sent twice. Checked before the response cache, so a cached answer
and a routed one agree, and `?_=123` never makes a cache entry of its own."""

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api.problems import problem_response

_SHOWN = 10  # names echoed in one problem
_NAME_MAX = 64


@dataclass(frozen=True)
class Operation:
    """The query parameters one documented operation takes."""

    names: frozenset[str]
    repeatable: frozenset[str]


Table = list[tuple[re.Pattern[str], dict[str, Operation]]]


def operations(document: dict[str, Any]) -> Table:
    """Path patterns (literal paths first) with each method's query parameters."""
    table: Table = []
    for template, item in document["paths"].items():
        pattern = re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)))
        methods: dict[str, Operation] = {}
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            query = [p for p in operation.get("parameters", []) if p.get("in") == "query"]
            methods[method.upper()] = Operation(
                names=frozenset(p["name"] for p in query),
                repeatable=frozenset(
                    p["name"] for p in query if p.get("schema", {}).get("type") == "array"
                ),
            )
        table.append((pattern, methods))
    table.sort(key=lambda row: "[^/]+" in row[0].pattern)
    return table


def _shown(names: list[str]) -> list[str]:
    unique = list(dict.fromkeys(names))[:_SHOWN]
    return [n if len(n) <= _NAME_MAX else n[:_NAME_MAX] + "…" for n in unique]


class QueryGuard:
    """Which query strings the documented operations refuse: undocumented and repeated
    single-valued parameters. Paths and methods nobody documents are not its business (they
    get their 404 or 405)."""

    def __init__(self, openapi: Callable[[], dict[str, Any]]) -> None:
        self.openapi = openapi
        self._table: Table | None = None

    def _operation(self, path: str, method: str) -> Operation | None:
        if self._table is None:
            self._table = operations(self.openapi())
        for pattern, methods in self._table:
            if pattern.fullmatch(path):
                return methods.get(method)
        return None

    def refusal(self, scope: Scope) -> Response | None:
        """The 400 problem for this request's query string, if it is refused (HEAD is read as
        GET)."""
        query: bytes = scope.get("query_string", b"")
        if not query:
            return None
        method = "GET" if scope["method"] == "HEAD" else scope["method"]
        operation = self._operation(scope["path"], method)
        if operation is None:
            return None
        return _check(query.decode("latin-1"), operation, scope["path"])


class QueryGuardMiddleware:
    """Answers a refused query string (QueryGuard) with its 400 problem, before the app."""

    def __init__(self, app: ASGIApp, guard: QueryGuard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        problem = self.guard.refusal(scope) if scope["type"] == "http" else None
        if problem is not None:
            await problem(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _check(query: str, operation: Operation, path: str) -> Response | None:
    names = [name for name, _ in parse_qsl(query, keep_blank_values=True)]
    unknown = _shown([n for n in names if n not in operation.names])
    if unknown:
        return _problem(
            "unknown_query_parameter",
            f"Unknown query parameter(s): {', '.join(unknown)}. This operation takes: "
            f"{', '.join(sorted(operation.names)) or 'none'}.",
            unknown,
            "unknown_parameter",
            "Unknown query parameter.",
            path,
        )
    repeated = _shown(
        [n for n, count in Counter(names).items() if count > 1 and n not in operation.repeatable]
    )
    if repeated:
        return _problem(
            "repeated_query_parameter",
            f"Query parameter(s) sent more than once: {', '.join(repeated)}.",
            repeated,
            "repeated_parameter",
            "Takes one value.",
            path,
        )
    return None


def _problem(
    code: str, detail: str, names: list[str], kind: str, message: str, path: str
) -> Response:
    return problem_response(
        status=400,
        title="Bad Request",
        code=code,
        detail=detail,
        instance=path,
        errors=[{"field": f"query.{n}", "message": message, "type": kind} for n in names],
    )
