"""Evidence a check consumes: plain frozen values, independent of any server.

The runner collects these from the hops of one scenario run: spans at the ingest (``SpanView``),
what the fake providers saw and answered (``JournalEntry``), client-side timings from the load
generator (``ClientRecord``), per-request OTLP metadata at the ingest (``IngestRequest``), canary
hits (``CanaryHit``) and counters. ``Evidence`` bundles them with the scenario settings. Nothing
here reads a clock, a socket or a file; ``span_from_json`` adapts the ingest's JSON span form
(documented in docs/checks.md) into a ``SpanView``.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from testbed import counters
from testbed.counters import SampleKey

if TYPE_CHECKING:
    from testbed.checks.metric_points import MetricPoint
    from testbed.checks.signal_evidence import SignalEvidence

ValueType = Literal["string", "bool", "int", "double", "array", "kvlist", "bytes"]
VALUE_TYPES: frozenset[str] = frozenset(("string", "bool", "int", "double", "array", "kvlist", "bytes"))


@dataclass(frozen=True, slots=True)
class TypedValue:
    """An OTLP AnyValue with its wire type kept, so type fidelity (SEM-12) can be judged.
    ``array`` holds a tuple of TypedValue, ``kvlist`` a tuple of (key, TypedValue) pairs."""

    type: ValueType
    value: Any

    def plain(self) -> Any:
        if self.type == "array":
            return [v.plain() for v in self.value]
        if self.type == "kvlist":
            return {k: v.plain() for k, v in self.value}
        return self.value


@dataclass(frozen=True, slots=True)
class SpanEvent:
    name: str
    time_ns: int
    attributes: Mapping[str, TypedValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SpanLink:
    trace_id: str
    span_id: str
    attributes: Mapping[str, TypedValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SpanView:
    """One span as stored at the ingest. Kind is the OTLP enum (1 INTERNAL, 2 SERVER, 3 CLIENT,
    4 PRODUCER, 5 CONSUMER); status code 0 UNSET, 1 OK, 2 ERROR. Ids are lowercase hex."""

    trace_id: str
    span_id: str
    name: str
    kind: int
    start_ns: int
    end_ns: int
    parent_span_id: str | None = None
    status_code: int = 0
    status_message: str = ""
    attributes: Mapping[str, TypedValue] = field(default_factory=dict)
    events: tuple[SpanEvent, ...] = ()
    links: tuple[SpanLink, ...] = ()
    resource: Mapping[str, TypedValue] = field(default_factory=dict)
    scope_name: str = ""
    scope_version: str = ""
    tenant: str | None = None
    request_id: str | None = None
    received_ns: int | None = None
    """When the ingest stored the span (for delivery lag, LOSS-05); None when unknown."""

    def value(self, name: str, default: Any = None) -> Any:
        tv = self.attributes.get(name)
        return default if tv is None else tv.plain()

    @property
    def duration_ns(self) -> int:
        return self.end_ns - self.start_ns


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One upstream request as the fake provider saw and answered it. ``usage`` is the provider's
    own usage object in its wire names (final cumulative values for streams); header names are
    lowercase. ``error_type`` is set for error answers and mid-stream errors."""

    time_ns: int
    provider: str
    path: str
    model: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    status: int = 200
    response_id: str | None = None
    response_model: str | None = None
    usage: Mapping[str, Any] = field(default_factory=dict)
    finish_reasons: tuple[str, ...] = ()
    stream: bool = False
    first_byte_ns: int | None = None
    last_byte_ns: int | None = None
    ttft_ms: float | None = None
    error_type: str | None = None
    mid_stream_error: bool = False

    @property
    def traceparent(self) -> str | None:
        return self.headers.get("traceparent")

    @property
    def tracestate(self) -> str | None:
        return self.headers.get("tracestate")

    @property
    def correlation_id(self) -> str | None:
        return self.headers.get("x-testbed-correlation-id")


ClientPath = Literal["gateway", "direct", "comparator", "hostile"]


@dataclass(frozen=True, slots=True)
class ClientRecord:
    """One load-generator request. Times are ns on one monotonic clock; ``intended_ns`` is the
    schedule's start time, so latency from it corrects coordinated omission (LAT-02)."""

    correlation_id: str
    intended_ns: int
    sent_ns: int
    path: ClientPath = "gateway"
    phase: str = "measure"
    mode: str = "healthy"
    trace_id: str | None = None
    traceparent: str | None = None
    tracestate: str | None = None
    first_byte_ns: int | None = None
    complete_ns: int | None = None
    status: int | None = None
    error: str | None = None
    stream: bool = False
    model: str | None = None
    cap_hit: bool = False
    """The outstanding-request cap delayed this request (LAT-03)."""
    finish_reasons: tuple[str, ...] = ()
    """What the client was told, in the wire format it spoke (one per choice)."""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    response_model: str | None = None
    streamed: bool | None = None
    """Whether the answer came as a stream (None when no answer was read)."""

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300

    @property
    def latency_ns(self) -> int | None:
        return None if self.complete_ns is None else self.complete_ns - self.intended_ns

    @property
    def ttft_ns(self) -> int | None:
        return None if self.first_byte_ns is None else self.first_byte_ns - self.intended_ns

    @property
    def send_lag_ns(self) -> int:
        return self.sent_ns - self.intended_ns


AuthForm = Literal["raw", "bearer", "missing", "other"]


@dataclass(frozen=True, slots=True)
class IngestRequest:
    """One OTLP request at the ingest. ``status`` None means the ingest closed without answering
    (a fault). ``retry_of`` is the ``seq`` of the earlier request with the same decoded body hash;
    ``gap_ns`` runs from that request's response to this arrival. ``retry_after_s`` is the
    Retry-After the ingest sent in *this* request's response."""

    seq: int
    arrival_ns: int
    status: int | None
    response_ns: int | None = None
    path: str = "/v1/traces"
    content_type: str = "application/x-protobuf"
    content_encoding: str = ""
    user_agent: str = ""
    auth_form: AuthForm = "raw"
    body_hash: str = ""
    span_count: int = 0
    retry_of: int | None = None
    gap_ns: int | None = None
    retry_after_s: float | None = None
    connection_id: str | None = None


Slot = Literal["SYS", "USR", "AST", "TDF", "TCA", "TCR", "EMB", "HDR", "OUT", "OTC", "ERR", "KEY"]
CONTENT_SLOTS: frozenset[str] = frozenset(("SYS", "USR", "AST", "TDF", "TCA", "TCR", "EMB", "OUT", "OTC", "ERR"))


@dataclass(frozen=True, slots=True)
class Canary:
    """A planted canary (SPEC 4); ``request_id`` is the client correlation id it was planted in."""

    value: str
    slot: Slot
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class CanaryHit:
    """A canary (or registered fragment) found in bytes at the bus, the ingest or a log."""

    canary: str
    slot: Slot
    where: Literal["bus", "ingest", "log"]
    request_id: str | None = None
    location: str = ""
    offset: int | None = None


@dataclass(frozen=True, slots=True)
class Counters:
    """Counter samples of every hop (names in ``testbed.counters``). ``values`` may be keyed by
    ``SampleKey`` or by the Prometheus text form (``name{label="v",...}``, as results.json keeps
    it); ``samples`` holds them typed, each string parsed once. ``available`` is False for a
    gateway under test that exposes none (LOSS-04)."""

    values: Mapping[str, float] | Mapping[SampleKey, float] = field(default_factory=dict)
    available: bool = True
    samples: Mapping[SampleKey, float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        samples = counters.as_samples(self.values)
        object.__setattr__(self, "samples", samples)
        object.__setattr__(self, "values", counters.as_text_keys(samples))

    def total(self, name: str, **labels: str) -> float:
        """Sum of every sample of ``name`` whose labels include ``labels``."""
        return counters.total(self.samples, name, **labels)

    def by_label(self, name: str, label: str) -> dict[str, float]:
        """Samples of ``name`` summed per value of ``label``."""
        return counters.by_label(self.samples, label, name)


@dataclass(frozen=True, slots=True)
class LatencyBudget:
    """LAT-07: ``overhead_ms`` caps pX(gateway) − pX(direct); ``comparator_ratio`` caps it
    relative to the comparator's overhead in the same run."""

    percentile: float
    overhead_ms: float | None = None
    comparator_ratio: float | None = None


@dataclass(frozen=True, slots=True)
class Budgets:
    latency: tuple[LatencyBudget, ...] = ()
    iso_min_samples: int = 1000
    bootstrap_resamples: int = 1000
    seed: int = 0
    warmup_s: float = 5.0
    backoff_cap_s: float = 16.0


@dataclass(frozen=True, slots=True)
class ScenarioSettings:
    """What the scenario declares about the run and what its gateway profile says of the gateway."""

    name: str = ""
    convention: str = "genai-1.41"
    """The semantic convention the spans are judged by (a rules file in ``rules/``)."""
    exclude_request_data: bool = False
    capture_content: bool = True
    reference_gateway: bool = False
    """Our-stack evidence (bus hits, our counters, gw.* attributes) applies."""
    expects_server_span: bool = False
    restart_inbound: bool = False
    in_kubernetes: bool = False
    faulted_modes_transient: bool = True
    permanent_drop_reasons: tuple[str, ...] = ()
    ingest_api_keys: tuple[str, ...] = ()
    exporter_service_names: tuple[str, ...] = ()
    budgets: Budgets = field(default_factory=Budgets)


@dataclass(frozen=True, slots=True)
class Evidence:
    settings: ScenarioSettings = field(default_factory=ScenarioSettings)
    spans: tuple[SpanView, ...] = ()
    journal: tuple[JournalEntry, ...] = ()
    client: tuple[ClientRecord, ...] = ()
    ingest: tuple[IngestRequest, ...] = ()
    canaries: tuple[Canary, ...] = ()
    hits: tuple[CanaryHit, ...] = ()
    counters: Counters = field(default_factory=lambda: Counters(available=False))
    metrics: tuple[MetricPoint, ...] = ()
    """Metric data points the ingest stored during the scenario (SPEC 12)."""
    signals: SignalEvidence | None = None
    """Topology, infrastructure counts, anomaly signals and fault windows from the ingest (SPEC 13)."""


# --- JSON adapter --------------------------------------------------------------------------------

def typed_from_json(d: Any) -> TypedValue:
    """``{"type": ..., "value": ...}``; array items and kvlist values are typed the same way."""
    if not isinstance(d, Mapping) or d.get("type") not in VALUE_TYPES:
        raise ValueError(f"not a typed value: {d!r}")
    t, v = d["type"], d.get("value")
    if t == "array":
        return TypedValue("array", tuple(typed_from_json(x) for x in (v or [])))
    if t == "kvlist":
        items = v.items() if isinstance(v, Mapping) else v or []
        return TypedValue("kvlist", tuple((str(k), typed_from_json(x)) for k, x in items))
    if t == "bytes" and isinstance(v, str):
        return TypedValue("bytes", base64.b64decode(v))
    if t == "int":
        return TypedValue("int", int(v))
    if t == "double":
        return TypedValue("double", float(v))
    if t == "bool" and not isinstance(v, bool):
        raise ValueError(f"bool value is not a boolean: {v!r}")
    if t == "string" and not isinstance(v, str):
        raise ValueError(f"string value is not a string: {v!r}")
    return TypedValue(t, v)


def _attrs(d: Any) -> dict[str, TypedValue]:
    return {str(k): typed_from_json(v) for k, v in (d or {}).items()}


def span_from_json(d: Mapping[str, Any]) -> SpanView:
    """Adapt the documented JSON span form; raises ValueError on a malformed span."""
    status = d.get("status") or {}
    scope = d.get("scope") or {}
    return SpanView(
        trace_id=str(d["trace_id"]).lower(),
        span_id=str(d["span_id"]).lower(),
        parent_span_id=(str(d["parent_span_id"]).lower() or None) if d.get("parent_span_id") else None,
        name=str(d.get("name", "")),
        kind=int(d.get("kind", 0)),
        start_ns=int(d["start_ns"]),
        end_ns=int(d["end_ns"]),
        status_code=int(status.get("code", d.get("status_code", 0))),
        status_message=str(status.get("message", d.get("status_message", "")) or ""),
        attributes=_attrs(d.get("attributes")),
        events=tuple(
            SpanEvent(str(e.get("name", "")), int(e.get("time_ns", 0)), _attrs(e.get("attributes")))
            for e in d.get("events") or ()
        ),
        links=tuple(
            SpanLink(str(k["trace_id"]).lower(), str(k["span_id"]).lower(), _attrs(k.get("attributes")))
            for k in d.get("links") or ()
        ),
        resource=_attrs(d.get("resource")),
        scope_name=str(scope.get("name", d.get("scope_name", "")) or ""),
        scope_version=str(scope.get("version", d.get("scope_version", "")) or ""),
        tenant=d.get("tenant"),
        request_id=d.get("request_id"),
        received_ns=int(d["received_ns"]) if d.get("received_ns") is not None else None,
    )
