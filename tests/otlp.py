"""A tiny OTLP/HTTP trace receiver for tests: what an exporter sends, decoded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest


@dataclass
class Received:
    """Every export request the receiver got, and its address."""

    url: str
    requests: list[ExportTraceServiceRequest] = field(default_factory=list)

    def spans(self) -> list[tuple[Any, Any, str]]:
        """(span, resource, instrumentation scope name) of every span received."""
        return [
            (span, resource.resource, scope.scope.name)
            for request in self.requests
            for resource in request.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        ]


@asynccontextmanager
async def otlp_receiver(port: int) -> AsyncIterator[Received]:
    """Serve POST /v1/traces on 127.0.0.1:`port` for the duration of the block."""
    received = Received(url=f"http://127.0.0.1:{port}")

    async def collect(request: web.Request) -> web.Response:
        message = ExportTraceServiceRequest()
        message.ParseFromString(await request.read())
        received.requests.append(message)
        return web.Response(status=200, content_type="application/x-protobuf")

    app = web.Application()
    app.router.add_post("/v1/traces", collect)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield received
    finally:
        await runner.cleanup()
