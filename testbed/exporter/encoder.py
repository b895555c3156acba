"""Span records -> OTLP/HTTP request bodies, and response bodies -> outcome. Pure.

``encode_protobuf`` gives ``ExportTraceServiceRequest`` bytes; ``encode_json`` gives the OTLP JSON
form with the encoding rules of OTLP-03: hex trace and span ids (not base64), integer enums,
lowerCamelCase keys and 64-bit integers as decimal strings. Spans are grouped under their own
resource and scope (OTLP-16), in first-seen order.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from testbed.exporter.spans import Attributes, AttrValue, Scope, SpanRecord
from testbed.exporter.wire import encode_request

PROTOBUF_CONTENT_TYPE: Final = "application/x-protobuf"
JSON_CONTENT_TYPE: Final = "application/json"
_ID_FIELDS: Final = ("traceId", "spanId", "parentSpanId")


def any_value(value: AttrValue) -> AnyValue:
    """The AnyValue whose type follows the Python type (SEM-12); bool is tested before int."""
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, str):
        return AnyValue(string_value=value)
    if isinstance(value, (list, tuple)):
        out = AnyValue()
        out.array_value.values.extend(any_value(v) for v in value)
        return out
    raise TypeError(f"unsupported attribute value type {type(value).__name__}")


def _check_id(value: str | None, size: int, what: str, *, required: bool = False) -> None:
    if value is None:
        if required:
            raise ValueError(f"{what}: missing")
        return
    if not isinstance(value, str) or len(value) != size * 2 or value.strip("0123456789abcdefABCDEF"):
        raise ValueError(f"{what}: not {size} bytes of hex")


def _check_value(value: object, key: str) -> None:
    if isinstance(value, (str, bool, int, float)):
        if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
            raise ValueError(f"attribute {key!r}: integer out of int64 range")
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            if not isinstance(item, (str, bool, int, float)):
                raise ValueError(f"attribute {key!r}: unsupported array element")
            _check_value(item, key)
        return
    raise ValueError(f"attribute {key!r}: unsupported type {type(value).__name__}")


def validate(records: Iterable[SpanRecord]) -> None:
    """Raise ValueError if a record cannot be encoded (checked once per bus message, so one bad
    message is terminated alone instead of failing the batch it would join)."""
    for record in records:
        _check_fields(record)
        for attrs in (record.attributes, record.resource):
            for key, value in attrs.items():
                _check_value(value, key)


def _text_ok(value: object) -> bool:
    """False for a string UTF-8 cannot carry (a lone surrogate): protobuf would raise on it."""
    if not isinstance(value, str) or value.isascii():
        return True
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _attrs_ok(attrs: Attributes) -> bool:
    for key, value in attrs.items():
        if not _text_ok(key):
            return False
        if isinstance(value, (list, tuple)):
            if not all(_text_ok(v) for v in value):
                return False
        elif not _text_ok(value):
            return False
    return True


def encodable(record: SpanRecord) -> bool:
    """Whether every text of a structurally valid record is valid UTF-8 (names, attributes, status,
    trace state, scope). Text is made valid at the source (the TraceEvent), but a bus message from
    any gateway may still carry a lone surrogate; such a span is dropped alone, never its batch."""
    texts = (record.name, record.status_message, record.trace_state, record.scope.name, record.scope.version)
    return (all(_text_ok(t) for t in texts) and _attrs_ok(record.attributes) and _attrs_ok(record.resource)
            and all(_text_ok(link.trace_state) for link in record.links))


def split_encodable(records: list[SpanRecord]) -> tuple[list[SpanRecord], int]:
    """The records that encode, and how many were left out as ``unencodable``."""
    kept = [r for r in records if encodable(r)]
    return kept, len(records) - len(kept)


_INT64_MIN: Final = -(2**63)
_INT64_END: Final = 2**63


def _attrs_encodable(attrs: Attributes) -> bool:
    """``_check_value`` on every value and ``_text_ok`` on every text in one walk, scalars first."""
    ok = True
    for key, value in attrs.items():
        kind = type(value)
        if kind is str:
            if not value.isascii() and not _text_ok(value):
                ok = False
        elif kind is int:
            if not _INT64_MIN <= value < _INT64_END:
                raise ValueError(f"attribute {key!r}: integer out of int64 range")
        elif kind is not bool and kind is not float:
            _check_value(value, key)
            if isinstance(value, (list, tuple)) and not all(_text_ok(v) for v in value):
                ok = False
        if isinstance(key, str) and not key.isascii() and not _text_ok(key):
            ok = False
    return ok


_HEX: Final = "0123456789abcdefABCDEF"


def _common_shape(record: SpanRecord) -> bool:
    """Whether the fields other than attributes have the shape the mapping gives: exact types,
    hex ids of the right size, times and codes in range, no links. A record that is not of this
    shape goes through the full checks, which give the reason when it is invalid."""
    t, s, p = record.trace_id, record.span_id, record.parent_span_id
    kind, code, start, end, flags = record.kind, record.status_code, record.start_ns, record.end_ns, record.flags
    state, scope = record.trace_state, record.scope
    return (type(t) is str and len(t) == 32 and not t.strip(_HEX)
            and type(s) is str and len(s) == 16 and not s.strip(_HEX)
            and (p is None or (type(p) is str and len(p) == 16 and not p.strip(_HEX)))
            and type(kind) is int and 0 <= kind < 2**31 and type(code) is int and 0 <= code < 2**31
            and type(start) is int and 0 <= start < 2**64 and type(end) is int and 0 <= end < 2**64
            and (flags is None or type(flags) is int)
            and type(record.name) is str and type(record.status_message) is str
            and (state is None or type(state) is str) and type(scope.name) is str and type(scope.version) is str
            and not record.links)


def _check_fields(record: SpanRecord) -> bool:
    """``validate`` for the fields other than attributes; returns whether their text encodes."""
    _check_id(record.trace_id, 16, "trace_id", required=True)
    _check_id(record.span_id, 8, "span_id", required=True)
    _check_id(record.parent_span_id, 8, "parent_span_id")
    texts = (record.name, record.trace_state or "", record.status_message, record.scope.name, record.scope.version)
    if not all(isinstance(t, str) for t in texts):
        raise ValueError("span name, trace state, status message and scope must be strings")
    for number in (record.kind, record.status_code):
        if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number < 2**31:
            raise ValueError("span kind and status code must be small integers")
    for number in (record.start_ns, record.end_ns):
        if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number < 2**64:
            raise ValueError("span times must be unsigned 64-bit integers")
    if record.flags is not None and (isinstance(record.flags, bool) or not isinstance(record.flags, int)):
        raise ValueError("trace flags must be an integer")
    ok = all(_text_ok(t) for t in texts)
    for link in record.links:
        _check_id(link.trace_id, 16, "link trace_id", required=True)
        _check_id(link.span_id, 8, "link span_id", required=True)
        if not isinstance(link.trace_state or "", str):
            raise ValueError("link trace state must be a string")
        ok = ok and _text_ok(link.trace_state)
    return ok


def check_spans(records: list[SpanRecord]) -> tuple[list[SpanRecord], int]:
    """``validate`` and ``split_encodable`` in one pass over each record, as the exporter runs them
    on every bus message: ValueError if a record cannot be encoded at all (the message is malformed),
    else the records that encode and how many were left out as ``unencodable``."""
    kept: list[SpanRecord] = []
    resources: dict[int, bool] = {}  # the spans of one event share one resource dict: check it once
    for record in records:
        if _common_shape(record):
            state, scope = record.trace_state, record.scope
            ok = ((record.name.isascii() and record.status_message.isascii() and (state is None or state.isascii())
                   and scope.name.isascii() and scope.version.isascii())
                  or all(_text_ok(t) for t in (record.name, state, record.status_message, scope.name, scope.version)))
        else:
            ok = _check_fields(record)
        ok = _attrs_encodable(record.attributes) and ok
        resource_ok = resources.get(id(record.resource))
        if resource_ok is None:
            resource_ok = resources[id(record.resource)] = _attrs_encodable(record.resource)
        ok = resource_ok and ok
        if ok:
            kept.append(record)
    return kept, len(records) - len(kept)


def key_values(attrs: Attributes) -> list[KeyValue]:
    return [KeyValue(key=k, value=any_value(v)) for k, v in attrs.items()]


def _span(record: SpanRecord) -> Span:
    span = Span(
        trace_id=bytes.fromhex(record.trace_id),
        span_id=bytes.fromhex(record.span_id),
        parent_span_id=bytes.fromhex(record.parent_span_id) if record.parent_span_id else b"",
        name=record.name,
        kind=record.kind,  # type: ignore[arg-type]
        start_time_unix_nano=record.start_ns,
        end_time_unix_nano=record.end_ns,
        attributes=key_values(record.attributes),
        status=Status(code=record.status_code, message=record.status_message),  # type: ignore[arg-type]
        trace_state=record.trace_state or "",
    )
    if record.flags is not None:
        span.flags = record.flags & 0xFF
    for link in record.links:
        span.links.append(
            Span.Link(
                trace_id=bytes.fromhex(link.trace_id),
                span_id=bytes.fromhex(link.span_id),
                trace_state=link.trace_state or "",
            )
        )
    return span


def _resource_key(attrs: Attributes) -> str:
    return json.dumps(attrs, sort_keys=True, default=str)


def build_request(records: Iterable[SpanRecord]) -> ExportTraceServiceRequest:
    """Group spans by resource, then by scope, keeping first-seen order (OTLP-16)."""
    request = ExportTraceServiceRequest()
    by_resource: dict[str, ResourceSpans] = {}
    by_scope: dict[tuple[str, Scope], ScopeSpans] = {}
    for record in records:
        rkey = _resource_key(record.resource)
        resource_spans = by_resource.get(rkey)
        if resource_spans is None:
            resource_spans = request.resource_spans.add()
            resource_spans.resource.CopyFrom(Resource(attributes=key_values(record.resource)))
            by_resource[rkey] = resource_spans
        scope_spans = by_scope.get((rkey, record.scope))
        if scope_spans is None:
            scope_spans = resource_spans.scope_spans.add()
            scope_spans.scope.CopyFrom(InstrumentationScope(name=record.scope.name, version=record.scope.version))
            by_scope[(rkey, record.scope)] = scope_spans
        scope_spans.spans.append(_span(record))
    return request


def encode_protobuf(records: Sequence[SpanRecord]) -> bytes:
    """The request bytes, written directly (``wire.py``): the same bytes as
    ``build_request(records).SerializeToString()``, at a fraction of the CPU."""
    return encode_request(records)


def request_to_json_dict(request: ExportTraceServiceRequest) -> dict[str, Any]:
    """OTLP JSON: protobuf's JSON mapping with integer enums, then ids rewritten from base64 to hex."""
    data = json_format.MessageToDict(request, use_integers_for_enums=True)
    for resource_spans in data.get("resourceSpans", []):
        for scope_spans in resource_spans.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                _hex_ids(span)
                for link in span.get("links", []):
                    _hex_ids(link)
    return data


def _hex_ids(obj: dict[str, Any]) -> None:
    for key in _ID_FIELDS:
        if key in obj:
            obj[key] = base64.b64decode(obj[key]).hex()


def encode_json(records: Sequence[SpanRecord]) -> bytes:
    return json.dumps(request_to_json_dict(build_request(records)), separators=(",", ":")).encode()


def encode(records: Sequence[SpanRecord], protocol: str) -> tuple[bytes, str]:
    """Body and Content-Type for ``protocol`` (``http/protobuf`` or ``http/json``)."""
    if protocol == "http/json":
        return encode_json(records), JSON_CONTENT_TYPE
    return encode_protobuf(records), PROTOBUF_CONTENT_TYPE


@dataclass(frozen=True, slots=True)
class PartialSuccess:
    rejected_spans: int
    error_message: str


def decode_partial_success(body: bytes, content_type: str) -> PartialSuccess | None:
    """The ``partial_success`` of a 200 response, or None when unset or unreadable.

    An unreadable success body is treated as full success: the server said 200 (OTLP-05).
    """
    response = ExportTraceServiceResponse()
    try:
        if content_type.startswith(JSON_CONTENT_TYPE):
            json_format.Parse(body or b"{}", response, ignore_unknown_fields=True)
        else:
            response.ParseFromString(body)
    except (DecodeError, json_format.ParseError, ValueError, UnicodeDecodeError):
        return None
    if not response.HasField("partial_success"):
        return None
    ps = response.partial_success
    if ps.rejected_spans == 0 and not ps.error_message:
        return None
    return PartialSuccess(int(ps.rejected_spans), ps.error_message)
