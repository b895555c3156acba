"""Pure OTLP/HTTP logic: content negotiation, bounded decompression, decoding, span validation,
and the bytes of responses (SPEC OTLP-02..07, OTLP-12).

Nothing here touches a socket or a clock: the ingest handler feeds body chunks to
:class:`BoundedDecoder` and hands the decoded message to :func:`extract_spans`.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final

from google.protobuf.message import DecodeError, Message
from google.rpc import status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from fake_middleware.model import Arrival, ResourceInfo, ScopeInfo, StoredSpan, typed_attributes
from fake_middleware.otlp_json import JsonDecodeError, parse_json

DEFAULT_MAX_REQUEST_BYTES: Final = 64 * 1024 * 1024
_CHUNK_OUT: Final = 256 * 1024
_ZERO16: Final = bytes(16)
_ZERO8: Final = bytes(8)


class Encoding(Enum):
    PROTOBUF = "application/x-protobuf"
    JSON = "application/json"


class Signal(Enum):
    TRACES = "traces"
    METRICS = "metrics"
    LOGS = "logs"


_REQUESTS: Final = {
    Signal.TRACES: trace_service_pb2.ExportTraceServiceRequest,
    Signal.METRICS: metrics_service_pb2.ExportMetricsServiceRequest,
    Signal.LOGS: logs_service_pb2.ExportLogsServiceRequest,
}
_RESPONSES: Final = {
    Signal.TRACES: (trace_service_pb2.ExportTraceServiceResponse, "rejected_spans"),
    Signal.METRICS: (metrics_service_pb2.ExportMetricsServiceResponse, "rejected_data_points"),
    Signal.LOGS: (logs_service_pb2.ExportLogsServiceResponse, "rejected_log_records"),
}
# HTTP status -> google.rpc.Code, so the Status body says the same thing as the status line.
_RPC_CODES: Final = {400: 3, 401: 16, 403: 7, 404: 5, 405: 12, 408: 4, 409: 10, 413: 8, 415: 3,
                     429: 8, 500: 13, 501: 12, 502: 14, 503: 14, 504: 4}


class BodyTooLarge(Exception):
    """The body, on the wire or decompressed, is over the limit (OTLP-12): answer 413."""


class UnsupportedMedia(Exception):
    """Unknown Content-Type or Content-Encoding: answer 415."""


class Undecodable(Exception):
    """The body is not a valid message of the signal: answer 400."""


def negotiate(content_type: str | None) -> Encoding:
    """The body encoding named by ``Content-Type`` (parameters ignored), else UnsupportedMedia."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    for encoding in Encoding:
        if media == encoding.value:
            return encoding
    raise UnsupportedMedia(f"unsupported content type {media or '(none)'!r}; use application/x-protobuf or application/json")


def response_encoding(content_type: str | None) -> Encoding:
    """The encoding to answer in: the request's, protobuf when the request's is unknown."""
    try:
        return negotiate(content_type)
    except UnsupportedMedia:
        return Encoding.PROTOBUF


class BoundedDecoder:
    """Accumulates a request body, inflating gzip/deflate as chunks arrive, never past ``limit`` bytes.

    ``feed`` raises BodyTooLarge as soon as the wire or decompressed size exceeds the limit, so a
    gzip bomb is refused after inflating at most ``limit`` + one output chunk. Concatenated gzip
    members (RFC 1952) are inflated one after the other.
    """

    def __init__(self, content_encoding: str | None, limit: int) -> None:
        coding = (content_encoding or "identity").strip().lower()
        if coding not in ("identity", "", "gzip", "x-gzip", "deflate"):
            raise UnsupportedMedia(f"unsupported content encoding {coding!r}; use gzip or none")
        self.coding = "identity" if coding in ("", "identity") else ("gzip" if "gzip" in coding else "deflate")
        self.limit = limit
        self.wire_bytes = 0
        self.decoded_bytes = 0
        self._parts: list[bytes] = []
        self._inflater: Any = self._new_inflater() if self.coding != "identity" else None

    def _new_inflater(self) -> Any:
        # HTTP "deflate" is zlib-wrapped (RFC 9110); wbits 47 also takes a gzip header, leniently.
        return zlib.decompressobj(31 if self.coding == "gzip" else 47)

    def feed(self, chunk: bytes) -> None:
        self.wire_bytes += len(chunk)
        if self.wire_bytes > self.limit:
            raise BodyTooLarge(f"request body over {self.limit} bytes")
        if self._inflater is None:
            self._append(chunk)
            return
        data = chunk
        while True:
            if self._inflater.eof and data:
                self._inflater = self._new_inflater()  # the next concatenated member
            try:
                out = self._inflater.decompress(data, _CHUNK_OUT)
            except zlib.error as exc:
                raise Undecodable(f"bad {self.coding} stream: {exc}") from None
            self._append(out)
            data = self._inflater.unconsumed_tail or (self._inflater.unused_data if self._inflater.eof else b"")
            if not data and len(out) < _CHUNK_OUT:
                break

    def _append(self, out: bytes) -> None:
        self.decoded_bytes += len(out)
        if self.decoded_bytes > self.limit:
            raise BodyTooLarge(f"decompressed request body over {self.limit} bytes")
        if out:
            self._parts.append(out)

    def finish(self) -> bytes:
        if self._inflater is not None:
            if not self._inflater.eof and self.wire_bytes:
                raise Undecodable(f"truncated {self.coding} stream")
        return self._parts[0] if len(self._parts) == 1 else b"".join(self._parts)


def decode(signal: Signal, encoding: Encoding, body: bytes, lenient: list[str]) -> Message:
    """The export request in ``body``, else Undecodable with a reason."""
    message = _REQUESTS[signal]()
    try:
        if encoding is Encoding.JSON:
            return parse_json(body, message, lenient)
        message.ParseFromString(body)
    except JsonDecodeError as exc:
        raise Undecodable(str(exc)) from None
    except (DecodeError, ValueError, RuntimeError, RecursionError) as exc:
        raise Undecodable(f"body is not a valid protobuf {message.DESCRIPTOR.name}: {exc}") from None
    return message


@dataclass(slots=True)
class Extracted:
    """Spans of one request: the valid ones, and why the others were rejected (OTLP-06)."""

    spans: list[StoredSpan] = field(default_factory=list)
    rejected: int = 0
    reasons: list[str] = field(default_factory=list)
    total: int = 0


def span_problem(trace_id: bytes, span_id: bytes, parent: bytes, start: int, end: int) -> str | None:
    """Why a span is invalid (OTLP-06), or None."""
    if len(trace_id) != 16 or not any(trace_id):
        return "trace_id is not 16 bytes or is all zero"
    if len(span_id) != 8 or not any(span_id):
        return "span_id is not 8 bytes or is all zero"
    if parent and (len(parent) != 8 or not any(parent)):
        return "parent_span_id is not 8 bytes or is all zero"
    if end < start:
        return "end_time_unix_nano is before start_time_unix_nano"
    return None


def extract_spans(request: Any, tenant: str, arrival_ns: int, request_id: int) -> Extracted:
    """Valid spans of an ExportTraceServiceRequest as StoredSpans; invalid ones counted with reasons."""
    out = Extracted()
    valid = out.spans
    for resource_spans in request.resource_spans:
        res = resource_spans.resource
        resource = ResourceInfo(typed_attributes(res.attributes), resource_spans.schema_url,
                                res.dropped_attributes_count)
        for scope_spans in resource_spans.scope_spans:
            sc = scope_spans.scope
            scope = ScopeInfo(sc.name, sc.version, typed_attributes(sc.attributes), scope_spans.schema_url)
            arrival = Arrival(resource, scope, tenant, arrival_ns, request_id)
            for pb in scope_spans.spans:
                trace_id, span_id = pb.trace_id, pb.span_id
                # The common case is checked inline: this loop is the ingest's hot path.
                if len(trace_id) == 16 and len(span_id) == 8 and trace_id != _ZERO16 and span_id != _ZERO8:
                    parent = pb.parent_span_id
                    if ((not parent or (len(parent) == 8 and parent != _ZERO8))
                            and pb.end_time_unix_nano >= pb.start_time_unix_nano):
                        valid.append(StoredSpan(pb, arrival, trace_id + span_id))
                        continue
                out.rejected += 1
                if len(out.reasons) < 5:
                    problem = span_problem(trace_id, span_id, pb.parent_span_id, pb.start_time_unix_nano,
                                           pb.end_time_unix_nano)
                    out.reasons.append(f"span {span_id.hex() or '(empty)'}: {problem}")
    out.total = len(out.spans) + out.rejected
    return out


def success_body(signal: Signal, encoding: Encoding, rejected: int = 0, message: str = "") -> bytes:
    """An Export*ServiceResponse; ``partial_success`` is set only when something is to be said (OTLP-05/06)."""
    response_type, rejected_field = _RESPONSES[signal]
    if encoding is Encoding.JSON:
        if not rejected and not message:
            return b"{}"
        camel = "".join(w if i == 0 else w.title() for i, w in enumerate(rejected_field.split("_")))
        partial = {camel: str(rejected), "errorMessage": message}
        return json.dumps({"partialSuccess": partial}).encode()
    response = response_type()
    if rejected or message:
        setattr(response.partial_success, rejected_field, rejected)
        response.partial_success.error_message = message
    return response.SerializeToString()


def status_body(encoding: Encoding, http_status: int, message: str) -> bytes:
    """A ``google.rpc.Status`` body for an error response (OTLP-07)."""
    code = _RPC_CODES.get(http_status, 2)
    if encoding is Encoding.JSON:
        return json.dumps({"code": code, "message": message}).encode()
    return status_pb2.Status(code=code, message=message).SerializeToString()


def padding(encoding: Encoding, size: int) -> bytes:
    """Bytes that make a response ``size`` bytes longer and that every OTLP decoder ignores.

    Protobuf: an unknown length-delimited field 15. JSON: an unknown key, which OTLP-03 says to
    ignore. Used by the slow_body and big_response faults.
    """
    if size <= 0:
        return b""
    if encoding is Encoding.JSON:
        return b"x" * size
    return bytes([0x7A]) + _varint(size) + b"\0" * size


def pad_response(encoding: Encoding, body: bytes, size: int) -> bytes:
    if size <= 0:
        return body
    if encoding is Encoding.PROTOBUF:
        return body + padding(encoding, size)
    doc = json.loads(body)
    doc["padding"] = padding(encoding, size).decode()
    return json.dumps(doc).encode()


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)
