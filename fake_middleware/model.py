"""Values the store keeps: spans with their resource and scope, and per-request metadata.

A :class:`StoredSpan` keeps the decoded protobuf ``Span`` and converts its attributes, events and
links to typed Python values only when first read, so ingest stays cheap (bench/ingest_bench.py).
Typed values keep the OTLP ``AnyValue`` kind (SEM-12 needs an int told apart from a double)::

    {"type": "string" | "bool" | "int" | "double" | "bytes" | "array" | "kvlist" | "empty",
     "value": ...}

``bytes`` values are base64 text, ``array`` values a list of typed values, ``kvlist`` values a dict
of typed values. Non-finite doubles are the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``.
Ids are lowercase hex; an absent parent is ``""``.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from typing import Any, Final

KIND_NAMES: Final = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
STATUS_NAMES: Final = {0: "UNSET", 1: "OK", 2: "ERROR"}


def _double(value: float) -> float | str:
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def typed_value(any_value: Any) -> dict[str, Any]:
    """An OTLP ``AnyValue`` message as ``{"type", "value"}`` (see the module docstring)."""
    which = any_value.WhichOneof("value")
    if which == "string_value":
        return {"type": "string", "value": any_value.string_value}
    if which == "int_value":
        return {"type": "int", "value": any_value.int_value}
    if which == "bool_value":
        return {"type": "bool", "value": any_value.bool_value}
    if which == "double_value":
        return {"type": "double", "value": _double(any_value.double_value)}
    if which == "array_value":
        return {"type": "array", "value": [typed_value(v) for v in any_value.array_value.values]}
    if which == "kvlist_value":
        return {"type": "kvlist", "value": typed_attributes(any_value.kvlist_value.values)}
    if which == "bytes_value":
        return {"type": "bytes", "value": base64.b64encode(any_value.bytes_value).decode("ascii")}
    return {"type": "empty", "value": None}


def typed_attributes(key_values: Any) -> dict[str, dict[str, Any]]:
    """Repeated ``KeyValue`` as a dict of typed values; a repeated key keeps its last value."""
    return {kv.key: typed_value(kv.value) for kv in key_values}


def plain_value(typed: dict[str, Any]) -> Any:
    """The Python value of a typed value (arrays as lists, kvlists as dicts, bytes as bytes)."""
    kind, value = typed["type"], typed["value"]
    if kind == "array":
        return [plain_value(v) for v in value]
    if kind == "kvlist":
        return {k: plain_value(v) for k, v in value.items()}
    if kind == "bytes":
        return base64.b64decode(value)
    if kind == "double" and isinstance(value, str):
        return float(value.lower().replace("infinity", "inf"))
    return value


@dataclass(frozen=True, slots=True)
class ResourceInfo:
    """One OTLP resource, shared by every span sent under it."""

    attributes: dict[str, dict[str, Any]]
    schema_url: str = ""
    dropped_attributes_count: int = 0

    @property
    def service_name(self) -> str:
        value = self.attributes.get("service.name")
        return str(value["value"]) if value and value["type"] == "string" else ""


@dataclass(frozen=True, slots=True)
class ScopeInfo:
    """One instrumentation scope, shared by every span sent under it."""

    name: str
    version: str
    attributes: dict[str, dict[str, Any]]
    schema_url: str = ""


@dataclass(frozen=True, slots=True)
class Arrival:
    """What every span of one request shares: resource, scope, tenant, arrival time, request id."""

    resource: ResourceInfo
    scope: ScopeInfo
    tenant: str
    arrival_ns: int
    request_id: int


class StoredSpan:
    """One accepted span, read-only. Every field is read from the protobuf span when asked for,
    and attributes are converted once, on first use: ingest only validates and indexes."""

    __slots__ = ("_pb", "_arrival", "store_key", "_attributes")

    def __init__(self, pb: Any, arrival: Arrival, store_key: bytes) -> None:
        self._pb = pb
        self._arrival = arrival
        self.store_key = store_key
        """trace_id + span_id bytes: the duplicate key (LOSS-03)."""
        self._attributes: dict[str, dict[str, Any]] | None = None

    pb = property(lambda self: self._pb, doc="the protobuf Span, for hot paths that read a few fields; never mutate")
    trace_id = property(lambda self: self._pb.trace_id.hex(), doc="lowercase hex")
    span_id = property(lambda self: self._pb.span_id.hex(), doc="lowercase hex")
    parent_span_id = property(lambda self: self._pb.parent_span_id.hex(), doc="lowercase hex, '' for a root")
    name = property(lambda self: self._pb.name)
    kind = property(lambda self: self._pb.kind)
    start_ns = property(lambda self: self._pb.start_time_unix_nano)
    end_ns = property(lambda self: self._pb.end_time_unix_nano)
    status_code = property(lambda self: self._pb.status.code)
    status_message = property(lambda self: self._pb.status.message)
    resource = property(lambda self: self._arrival.resource)
    scope = property(lambda self: self._arrival.scope)
    tenant = property(lambda self: self._arrival.tenant)
    arrival_ns = property(lambda self: self._arrival.arrival_ns)
    request_id = property(lambda self: self._arrival.request_id)

    @property
    def trace_bytes(self) -> bytes:
        return self.store_key[:16]

    @property
    def key(self) -> tuple[str, str]:
        return (self.trace_id, self.span_id)

    @property
    def service(self) -> str:
        return self._arrival.resource.service_name

    @property
    def duration_ns(self) -> int:
        return self.end_ns - self.start_ns

    @property
    def attributes(self) -> dict[str, dict[str, Any]]:
        if self._attributes is None:
            self._attributes = typed_attributes(self._pb.attributes)
        return self._attributes

    def attr(self, key: str, default: Any = None) -> Any:
        """The plain Python value of attribute ``key``."""
        typed = self.attributes.get(key)
        return default if typed is None else plain_value(typed)

    def attr_type(self, key: str) -> str | None:
        typed = self.attributes.get(key)
        return None if typed is None else str(typed["type"])

    @property
    def events(self) -> list[dict[str, Any]]:
        return [
            {"name": e.name, "time_ns": e.time_unix_nano, "attributes": typed_attributes(e.attributes),
             "dropped_attributes_count": e.dropped_attributes_count}
            for e in self._pb.events
        ]

    @property
    def links(self) -> list[dict[str, Any]]:
        return [
            {"trace_id": ln.trace_id.hex(), "span_id": ln.span_id.hex(), "trace_state": ln.trace_state,
             "flags": ln.flags, "attributes": typed_attributes(ln.attributes),
             "dropped_attributes_count": ln.dropped_attributes_count}
            for ln in self._pb.links
        ]

    def content(self) -> dict[str, Any]:
        """Everything the sender sent for this span (no arrival metadata): compares two arrivals."""
        pb = self._pb
        return {
            "trace_id": self.trace_id, "span_id": self.span_id, "parent_span_id": self.parent_span_id,
            "trace_state": pb.trace_state, "flags": pb.flags, "name": self.name, "kind": self.kind,
            "start_ns": self.start_ns, "end_ns": self.end_ns,
            "status": {"code": self.status_code, "message": self.status_message},
            "attributes": self.attributes, "events": self.events, "links": self.links,
            "dropped_attributes_count": pb.dropped_attributes_count,
            "dropped_events_count": pb.dropped_events_count,
            "dropped_links_count": pb.dropped_links_count,
            "resource": {"attributes": self.resource.attributes, "schema_url": self.resource.schema_url,
                         "dropped_attributes_count": self.resource.dropped_attributes_count},
            "scope": {"name": self.scope.name, "version": self.scope.version,
                      "attributes": self.scope.attributes, "schema_url": self.scope.schema_url},
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON form the query API returns."""
        out = self.content()
        out.update(service=self.service, kind_name=KIND_NAMES.get(self.kind, str(self.kind)),
                   tenant=self.tenant, arrival_ns=self.arrival_ns, request_id=self.request_id)
        return out


@dataclass(slots=True)
class RequestRecord:
    """Metadata of one OTLP request (SPEC 5: retry detection, OTLP-08..11, MW-02..04).

    Created when the request arrives and completed when it is answered or dropped; mutable for
    that reason. The Authorization header is recorded only as its form: raw, bearer or missing.
    """

    id: int
    path: str
    arrival_ns: int
    content_type: str
    content_encoding: str
    user_agent: str
    auth_form: str
    tenant: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    wire_bytes: int = 0
    decoded_bytes: int = 0
    body_sha256: str | None = None
    span_count: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    status: int | None = None
    outcome: str = "pending"
    faults: list[str] = field(default_factory=list)
    retry_of: int | None = None
    retry_gap_ns: int | None = None
    end_ns: int | None = None
    lenient: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "path": self.path, "arrival_ns": self.arrival_ns, "end_ns": self.end_ns,
            "status": self.status, "outcome": self.outcome, "content_type": self.content_type,
            "content_encoding": self.content_encoding, "user_agent": self.user_agent,
            "auth_form": self.auth_form, "tenant": self.tenant, "wire_bytes": self.wire_bytes,
            "decoded_bytes": self.decoded_bytes, "body_sha256": self.body_sha256,
            "span_count": self.span_count, "accepted": self.accepted, "rejected": self.rejected,
            "duplicates": self.duplicates, "faults": list(self.faults), "retry_of": self.retry_of,
            "retry_gap_ms": None if self.retry_gap_ns is None else self.retry_gap_ns / 1e6,
            "lenient": list(self.lenient),
        }
