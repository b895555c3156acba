"""A tiny scriptable OTLP/HTTP receiver for exporter tests (a real aiohttp server on 127.0.0.1).

It answers scripted responses in order (then 200), decodes every body (gzip, protobuf or JSON) and
records what arrived, so tests assert on real requests rather than on mocks.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from dataclasses import dataclass, field

from aiohttp import web
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    rejected_spans: int = 0


@dataclass
class Received:
    headers: dict[str, str]
    request: ExportTraceServiceRequest
    arrived: float
    status: int

    def span_keys(self) -> list[tuple[str, str]]:
        return [
            (s.trace_id.hex(), s.span_id.hex())
            for rs in self.request.resource_spans for ss in rs.scope_spans for s in ss.spans
        ]


RECEIVER_KEY: web.AppKey["Receiver"] = web.AppKey("receiver", object)  # type: ignore[arg-type]


class Receiver:
    """State of the receiver: the script, what arrived, and a condition to wait on."""

    def __init__(self, script: list[Reply] | None = None, default: Reply = Reply()) -> None:
        self.script = list(script or [])
        self.default = default
        self.received: list[Received] = []
        self.changed = asyncio.Condition()
        self.hold: asyncio.Event | None = None
        """When set to an unset event, requests are recorded as arrived but answered only once it is set."""
        self.arrivals = 0

    def accepted_keys(self) -> list[tuple[str, str]]:
        """Span keys of requests answered 2xx (minus nothing: partial rejects are scripted by count)."""
        return [k for r in self.received if 200 <= r.status < 300 for k in r.span_keys()]

    async def wait_for(self, predicate, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(lambda: predicate(self)), timeout)

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        if self.hold is not None:
            async with self.changed:
                self.arrivals += 1
                self.changed.notify_all()
            await self.hold.wait()
        # aiohttp already inflates a gzip request body; inflate here only if it did not.
        if request.headers.get("Content-Encoding") == "gzip" and raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        message = ExportTraceServiceRequest()
        if request.content_type == "application/json":
            data = json.loads(raw)
            _ids_to_base64(data)
            json_format.ParseDict(data, message)
        else:
            message.ParseFromString(raw)
        reply = self.script.pop(0) if self.script else self.default
        async with self.changed:
            self.received.append(Received(dict(request.headers), message, time.monotonic(), reply.status))
            self.changed.notify_all()
        body = reply.body
        if body is None and reply.status == 200:
            response = ExportTraceServiceResponse()
            if reply.rejected_spans:
                response.partial_success.rejected_spans = reply.rejected_spans
                response.partial_success.error_message = "rejected by test"
            body = response.SerializeToString()
        return web.Response(status=reply.status, body=body or b"", headers={
            "Content-Type": "application/x-protobuf", **reply.headers})


def _ids_to_base64(data: dict) -> None:  # type: ignore[type-arg]
    import base64

    for rs in data.get("resourceSpans", []):
        for ss in rs.get("scopeSpans", []):
            for span in ss.get("spans", []):
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()


def create_receiver_app(receiver: Receiver) -> web.Application:
    app = web.Application(client_max_size=128 * 1024 * 1024)
    app[RECEIVER_KEY] = receiver
    app.router.add_post("/v1/traces", receiver.handle)
    return app
