"""brotli or gzip for the JSON bodies the response cache does not hold (it compresses its own
once).

Not Starlette's GZipMiddleware: it looks for the substring "gzip" in Accept-Encoding, so
`gzip;q=0` (gzip refused) still gets gzip, and it adds a second `Vary: Accept-Encoding` to a
response that has one."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http_cache import COMPRESS_FROM, ENCODERS, best_coding

_JSON_TYPES = (b"application/json", b"application/problem+json")


class JsonCompressionMiddleware:
    """Compresses whole (not streamed) JSON bodies of COMPRESS_FROM bytes or more in the coding
    the client prefers (brotli or gzip); everything else passes through untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None

        async def compressing_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            held, start = start, None
            body = message.get("body", b"")
            streamed = message.get("more_body", False)
            if not streamed and _compressible(held, body):
                headers = [(k, v) for k, v in held["headers"] if k != b"content-length"]
                if not any(k == b"vary" and b"accept-encoding" in v.lower() for k, v in headers):
                    headers.append((b"vary", b"Accept-Encoding"))
                coding = _coding(scope)
                if coding is not None:
                    body = ENCODERS[coding](body)
                    headers.append((b"content-encoding", coding.encode()))
                headers.append((b"content-length", str(len(body)).encode()))
                held = {**held, "headers": headers}
                message = {**message, "body": body}
            await send(held)
            await send(message)

        await self.app(scope, receive, compressing_send)


def _coding(scope: Scope) -> str | None:
    """Read only for a body worth compressing: most answers are small or already encoded."""
    accept = next((v for k, v in scope["headers"] if k == b"accept-encoding"), None)
    return best_coding(accept.decode("latin-1") if accept else None)


def _compressible(start: Message, body: bytes) -> bool:
    if len(body) < COMPRESS_FROM:
        return False
    headers = dict(start.get("headers", []))
    media = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    return media in _JSON_TYPES and b"content-encoding" not in headers
