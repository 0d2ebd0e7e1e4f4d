"""An OTLP/HTTP trace collector on a real uvicorn, which decodes what the real exporter sends
with OpenTelemetry's own protobuf definitions: for the tests that turn tracing on."""

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.waiting import eventually

SERVER, CLIENT = 2, 3  # SpanKind values in the OTLP protobuf


class Collector:
    """An OTLP/HTTP trace endpoint: keeps every span it is sent, as plain dicts (service, name,
    kind, attributes, and the trace it belongs to as hex)."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []

    async def traces(self, request: Request) -> Response:
        export = ExportTraceServiceRequest.FromString(await request.body())
        for resource_spans in export.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    attributes = {a.key: _value(a.value) for a in span.attributes}
                    self.spans.append(
                        {
                            "service": resource.get("service.name"),
                            "name": span.name,
                            "kind": span.kind,
                            "attributes": attributes,
                            "trace": span.trace_id.hex(),
                        }
                    )
        return Response(status_code=200)


def _value(value: Any) -> object:
    return getattr(value, value.WhichOneof("value")) if value.WhichOneof("value") else None


@contextmanager
def collecting() -> Iterator[tuple[Collector, str]]:
    """A collector served on a free port, and its base URL (OTEL_EXPORTER_OTLP_ENDPOINT)."""
    collector = Collector()
    app = Starlette(routes=[Route("/v1/traces", collector.traces, methods=["POST"])])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    eventually(lambda: server.started, 10, "for the collector to start")
    try:
        yield collector, f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
