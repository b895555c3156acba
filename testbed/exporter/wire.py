"""Span records -> ``ExportTraceServiceRequest`` protobuf bytes, written straight to the wire. Pure.

Building protobuf message objects costs a Python call and a copy per attribute, which made the
encoder the exporter's largest CPU cost. Here each part is written as bytes in field-number order,
exactly as the protobuf runtime serialises the same message (proto3: default scalars are left out,
a oneof member and a set sub-message are always written), and the bytes of an attribute with a
short scalar value are cached: most attributes (provider, model, operation, server address) repeat
from span to span. ``tests/testbed/exporter/test_wire.py`` proves byte equality with the runtime's
``SerializeToString`` over generated records. Field numbers are those of opentelemetry-proto
(``trace/v1/trace.proto``, ``common/v1/common.proto``, ``resource/v1/resource.proto``).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable
from typing import Final

from testbed.exporter.spans import Attributes, AttrValue, SpanRecord

_CACHE_LIMIT: Final = 8192
_CACHED_TEXT_MAX: Final = 64
_kv_cache: dict[bytes, dict[tuple[str, type, object], bytes]] = {}
"""Per tag (span or resource attributes): tagged ``KeyValue`` bytes by (key, type, value)."""


def _varint(value: int) -> bytes:
    if value < 0:
        value &= (1 << 64) - 1
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _len_field(tag: int, payload: bytes) -> bytes:
    """A length-delimited field; ``tag`` is ``field << 3 | 2`` and below 128 here."""
    size = len(payload)
    if size < 0x80:  # most fields: a one-byte length
        return bytes((tag, size)) + payload
    return bytes((tag,)) + _varint(size) + payload


def _id(tag: int, value: str) -> bytes:
    """A trace or span id field; a valid id has a one-byte length."""
    raw = bytes.fromhex(value)
    return bytes((tag, len(raw))) + raw if len(raw) < 0x80 else _len_field(tag, raw)


def _any_value(value: AttrValue) -> bytes:
    """AnyValue: 1 string, 2 bool, 3 int64, 4 double, 5 ArrayValue (bool is tested before int)."""
    if isinstance(value, bool):
        return b"\x10\x01" if value else b"\x10\x00"
    if isinstance(value, int):
        return b"\x18" + _varint(value)
    if isinstance(value, float):
        return b"\x21" + struct.pack("<d", value)
    if isinstance(value, str):
        return _len_field(0x0A, value.encode())
    if isinstance(value, (list, tuple)):
        return _len_field(0x2A, b"".join(_len_field(0x0A, _any_value(v)) for v in value))
    raise TypeError(f"unsupported attribute value type {type(value).__name__}")


def _key_value(key: str, value: AttrValue) -> bytes:
    """One ``KeyValue`` (1 key, 2 value) as length prefix plus body; the caller writes its tag."""
    body = _len_field(0x0A, key.encode()) + _len_field(0x12, _any_value(value))
    return _varint(len(body)) + body


def _attributes(tag: bytes, attrs: Attributes) -> bytes:
    """Every attribute as a tagged ``KeyValue``. The tagged bytes of a bool, an int or a short
    string are cached; floats stay out: 0.0 and -0.0 are one dict key but two encodings."""
    cache = _kv_cache.get(tag)
    if cache is None:
        cache = _kv_cache[tag] = {}
    out = []
    for key, value in attrs.items():
        kind = type(value)
        if kind is str and len(value) <= _CACHED_TEXT_MAX or kind is int or kind is bool:  # type: ignore[operator]
            ckey = (key, kind, value)
            hit = cache.get(ckey)
            if hit is None:
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                hit = cache[ckey] = tag + _key_value(key, value)
            out.append(hit)
        else:
            out.append(tag + _key_value(key, value))
    return b"".join(out)


def _text(tag: int, value: str | None) -> bytes:
    return _len_field(tag, value.encode()) if value else b""


def _span(record: SpanRecord) -> bytes:
    parts = [
        _id(0x0A, record.trace_id),
        _id(0x12, record.span_id),
        _text(0x1A, record.trace_state),
        _id(0x22, record.parent_span_id) if record.parent_span_id else b"",
        _text(0x2A, record.name),
        b"\x30" + _varint(record.kind) if record.kind else b"",
        b"\x39" + struct.pack("<Q", record.start_ns) if record.start_ns else b"",
        b"\x41" + struct.pack("<Q", record.end_ns) if record.end_ns else b"",
        _attributes(b"\x4a", record.attributes),
    ]
    for link in record.links:
        body = (_len_field(0x0A, bytes.fromhex(link.trace_id)) + _len_field(0x12, bytes.fromhex(link.span_id))
                + _text(0x1A, link.trace_state))
        parts.append(_len_field(0x6A, body))
    status = _text(0x12, record.status_message) + (b"\x18" + _varint(record.status_code) if record.status_code else b"")
    parts.append(b"\x7a" + _varint(len(status)) + status)
    if record.flags is not None and record.flags & 0xFF:
        parts.append(b"\x85\x01" + struct.pack("<I", record.flags & 0xFF))  # field 16, fixed32
    return b"".join(parts)


def encode_request(records: Iterable[SpanRecord]) -> bytes:
    """Spans grouped by resource, then by scope, in first-seen order (OTLP-16), as request bytes."""
    resources: dict[str, tuple[bytes, dict[tuple[str, str], list[bytes]]]] = {}
    keys: dict[int, str] = {}  # the spans of one event share one resource dict: key it once
    for record in records:
        rkey = keys.get(id(record.resource))
        if rkey is None:
            rkey = keys[id(record.resource)] = json.dumps(record.resource, sort_keys=True, default=str)
        entry = resources.get(rkey)
        if entry is None:
            entry = resources[rkey] = (_attributes(b"\x0a", record.resource), {})
        scope = (record.scope.name, record.scope.version)
        entry[1].setdefault(scope, []).append(_span(record))
    out = []
    for resource_attrs, scopes in resources.values():
        body = [_len_field(0x0A, resource_attrs)]
        for (name, version), spans in scopes.items():
            scope_msg = _len_field(0x0A, _text(0x0A, name) + _text(0x12, version))
            spans_bytes = b"".join(_len_field(0x12, span) for span in spans)
            body.append(_len_field(0x12, scope_msg + spans_bytes))
        out.append(_len_field(0x0A, b"".join(body)))
    return b"".join(out)
