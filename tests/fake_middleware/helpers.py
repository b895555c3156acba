"""Builders shared by the fake_middleware tests: hand-made OTLP requests and in-process servers."""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterable
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

KEY = "mw-test-key-0123456789"
PB = "application/x-protobuf"
JSON = "application/json"


def any_value(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, list):
        out = AnyValue()
        out.array_value.values.extend(any_value(v) for v in value)
        return out
    if isinstance(value, dict):
        out = AnyValue()
        out.kvlist_value.values.extend(KeyValue(key=k, value=any_value(v)) for k, v in value.items())
        return out
    return AnyValue(string_value=str(value))


def kvs(attributes: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=any_value(v)) for k, v in attributes.items()]


def span(trace_id: bytes | None = None, span_id: bytes | None = None, *, parent: bytes = b"", name: str = "op",
         kind: int = 1, start: int = 1_000, end: int = 2_000, status: int = 0,
         attributes: dict[str, Any] | None = None) -> Span:
    return Span(trace_id=trace_id or os.urandom(16), span_id=span_id or os.urandom(8), parent_span_id=parent,
                name=name, kind=kind, start_time_unix_nano=start, end_time_unix_nano=end,
                status=Status(code=status), attributes=kvs(attributes or {}))


def request(spans: Iterable[Span], service: str = "svc", scope: str = "test.scope",
            resource: dict[str, Any] | None = None) -> ExportTraceServiceRequest:
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.extend(kvs({"service.name": service, **(resource or {})}))
    ss = rs.scope_spans.add()
    ss.scope.name = scope
    ss.scope.version = "1.0"
    ss.spans.extend(spans)
    return req


def headers(content_type: str = PB, key: str | None = KEY, gzip_body: bool = False) -> dict[str, str]:
    out = {"Content-Type": content_type}
    if key is not None:
        out["Authorization"] = key
    if gzip_body:
        out["Content-Encoding"] = "gzip"
    return out


def gz(body: bytes) -> bytes:
    return gzip.compress(body, compresslevel=1)
