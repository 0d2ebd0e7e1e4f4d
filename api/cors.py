"""CORS (the Fetch standard's protocol, as Starlette's middleware speaks it), as one pure ASGI
layer: a refused preflight is a `400 cors_refused` problem naming what was refused, like every
other error, and an answer gets its headers from lists made once, at start-up."""

from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem_response
from core.config import Settings

# Request headers a browser sends without asking (the Fetch standard's CORS-safelisted ones).
SAFELISTED_HEADERS = ("Accept", "Accept-Language", "Content-Language", "Content-Type")
_Headers = list[tuple[bytes, bytes]]


@dataclass(frozen=True)
class _Asked:
    """What a request says about its origin and, for a preflight, what it will send."""

    origin: str | None
    method: str | None  # Access-Control-Request-Method
    headers: str | None  # Access-Control-Request-Headers
    private_network: bool  # Access-Control-Request-Private-Network


def _asked(scope: Scope) -> _Asked:
    origin = method = headers = None
    private_network = False
    for name, value in scope["headers"]:
        if name == b"origin":
            origin = value.decode("latin-1") if origin is None else origin
        elif name == b"access-control-request-method":
            method = value.decode("latin-1") if method is None else method
        elif name == b"access-control-request-headers":
            headers = value.decode("latin-1") if headers is None else headers
        elif name == b"access-control-request-private-network":
            private_network = True
    return _Asked(origin, method, headers, private_network)


def _with_vary_origin(headers: _Headers) -> _Headers:
    """`headers` with `Origin` added to Vary, every Vary value in one header where the first
    one stood."""
    varies = [value for name, value in headers if name.lower() == b"vary"]
    joined: bytes | None = b", ".join([*varies, b"Origin"])
    out: _Headers = []
    for name, value in headers:
        if name.lower() != b"vary":
            out.append((name, value))
        elif joined is not None:
            out.append((b"vary", joined))
            joined = None
    if joined is not None:
        out.append((b"vary", joined))
    return out


class CORSMiddleware:
    """Answers preflights for the listed origins (`*`: any), and adds the CORS headers to
    every other answer (`Vary: Origin` to all of them: the answer depends on that header)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        allow_origins: list[str],
        allow_methods: list[str],
        allow_headers: list[str],
        expose_headers: list[str],
        max_age: int,
    ) -> None:
        self.app = app
        self.any_origin = "*" in allow_origins
        self.origins = frozenset(allow_origins)
        self.methods = frozenset(allow_methods)
        allowed = sorted({*SAFELISTED_HEADERS, *allow_headers})
        self.headers = frozenset(h.lower() for h in allowed)
        self.preflight_headers = {
            **({"Access-Control-Allow-Origin": "*"} if self.any_origin else {"Vary": "Origin"}),
            "Access-Control-Allow-Methods": ", ".join(allow_methods),
            "Access-Control-Max-Age": str(max_age),
            "Access-Control-Allow-Headers": ", ".join(allowed),
        }
        expose = [(b"access-control-expose-headers", ", ".join(expose_headers).encode())]
        self.to_allowed: _Headers = (
            [
                (b"access-control-allow-origin", b"*"),
                *expose,
            ]
            if self.any_origin
            else expose
        )
        self.expose = expose

    def allows(self, origin: str) -> bool:
        """Whether scripts on `origin` may read the API's answers."""
        return self.any_origin or origin in self.origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        asked = _asked(scope)
        if asked.origin is not None and scope["method"] == "OPTIONS" and asked.method is not None:
            await self._preflight(asked)(scope, receive, send)
            return
        added = self._simple(asked.origin)

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _with_vary_origin([*message.get("headers", []), *added])
            await send(message)

        await self.app(scope, receive, send_with_cors)

    def _simple(self, origin: str | None) -> _Headers:
        if origin is None:
            return []
        if self.any_origin:
            return self.to_allowed
        if origin in self.origins:
            return [(b"access-control-allow-origin", origin.encode("latin-1")), *self.expose]
        return self.expose

    def _preflight(self, asked: _Asked) -> ASGIApp:
        assert asked.origin is not None and asked.method is not None
        headers = dict(self.preflight_headers)
        refused: list[str] = []
        if not self.allows(asked.origin):
            refused.append("origin")
        elif not self.any_origin:
            headers["Access-Control-Allow-Origin"] = asked.origin
        if asked.method not in self.methods:
            refused.append("method")
        if asked.headers is not None and any(
            h.strip().lower() not in self.headers for h in asked.headers.split(",")
        ):
            refused.append("headers")
        if asked.private_network:
            refused.append("private-network")
        if not refused:
            return _plain_ok(headers)
        return problem_response(
            status=400,
            title="Bad Request",
            code="cors_refused",
            detail=f"This cross-origin request is not allowed (refused: {', '.join(refused)}). "
            "The API's CLINIC_CORS_ORIGINS setting lists the origins it accepts.",
            headers=headers,
            refused=refused,
        )


def _plain_ok(headers: dict[str, str]) -> ASGIApp:
    raw = [(k.lower().encode(), v.encode("latin-1")) for k, v in headers.items()]
    raw += [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"2")]

    async def answer(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": raw})
        await send({"type": "http.response.body", "body": b"OK"})

    return answer


def cors_options(settings: Settings) -> dict[str, Any]:
    """The CORS policy: the origins CLINIC_CORS_ORIGINS lists, what a form and a staff tool
    send, and the headers a script on those origins may read."""
    return {
        "allow_origins": settings.cors_origins,
        "allow_methods": ["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
        "allow_headers": [
            "Authorization",
            "Content-Type",
            "Idempotency-Key",
            "If-None-Match",
            "X-Request-ID",
            # W3C trace context, which browser instrumentation (OpenTelemetry) adds.
            "traceparent",
            "tracestate",
        ],
        "expose_headers": [
            "ETag",
            "Location",
            "Retry-After",
            "RateLimit-Limit",
            "RateLimit-Remaining",
            "RateLimit-Reset",
            "RateLimit-Policy",
            "Idempotent-Replayed",
            "X-Request-ID",
        ],
        "max_age": 600,
    }
