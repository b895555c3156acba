"""Metric data points as the checks see them, and the GenAI instruments they are judged against.

``MetricPoint`` is one point stored at the ingest (``GET /api/v1/metrics``); ``point_from_json``
adapts that JSON. ``SEMCONV_INSTRUMENTS`` holds, per instrument name, the type, unit and explicit
bucket boundaries of semantic-conventions v1.41.0 ``docs/gen-ai/gen-ai-metrics.md`` (MET-01..03).
Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from testbed.checks.evidence import TypedValue, typed_from_json

CLIENT_DURATION_BUCKETS: Final = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96,
                                  81.92)
TOKEN_BUCKETS: Final = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
SERVER_TTFT_BUCKETS: Final = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5,
                              10.0)
SERVER_TPOT_BUCKETS: Final = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5)


@dataclass(frozen=True, slots=True)
class InstrumentRule:
    spec_id: str
    unit: str
    boundaries: tuple[float, ...]
    required: tuple[str, ...] = ()
    bucket_severity: str = "violation"
    """``warning`` where the bucket list is this project's reading rather than the file's text."""


SEMCONV_INSTRUMENTS: Final[Mapping[str, InstrumentRule]] = {
    "gen_ai.client.operation.duration": InstrumentRule(
        "MET-01", "s", CLIENT_DURATION_BUCKETS, ("gen_ai.operation.name", "gen_ai.provider.name")),
    "gen_ai.client.token.usage": InstrumentRule(
        "MET-02", "{token}", TOKEN_BUCKETS, ("gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.token.type")),
    # Streaming client instrument: judged with the client duration buckets, a warning only.
    "gen_ai.client.operation.time_to_first_chunk": InstrumentRule(
        "MET-03", "s", CLIENT_DURATION_BUCKETS, ("gen_ai.operation.name", "gen_ai.provider.name"), "warning"),
    "gen_ai.server.request.duration": InstrumentRule(
        "MET-03", "s", CLIENT_DURATION_BUCKETS, ("gen_ai.operation.name", "gen_ai.provider.name")),
    "gen_ai.server.time_to_first_token": InstrumentRule(
        "MET-03", "s", SERVER_TTFT_BUCKETS, ("gen_ai.operation.name", "gen_ai.provider.name")),
    "gen_ai.server.time_per_output_token": InstrumentRule(
        "MET-03", "s", SERVER_TPOT_BUCKETS, ("gen_ai.operation.name", "gen_ai.provider.name")),
}
"""Every GenAI histogram of gen-ai-metrics.md v1.41.0 with its unit, buckets and required attributes."""


@dataclass(frozen=True, slots=True)
class MetricPoint:
    """One data point; ``type`` is histogram, sum, gauge, exponential_histogram or summary."""

    name: str
    unit: str = ""
    type: str = "histogram"
    temporality: str = "cumulative"
    start_ns: int = 0
    time_ns: int = 0
    attributes: Mapping[str, TypedValue] = field(default_factory=dict)
    resource: Mapping[str, TypedValue] = field(default_factory=dict)
    scope_name: str = ""
    scope_attributes: Mapping[str, TypedValue] = field(default_factory=dict)
    count: int = 0
    sum: float = 0.0
    bucket_counts: tuple[int, ...] = ()
    explicit_bounds: tuple[float, ...] = ()
    request_id: str | None = None

    def value(self, name: str, default: Any = None) -> Any:
        tv = self.attributes.get(name)
        return default if tv is None else tv.plain()

    @property
    def series(self) -> tuple[Any, ...]:
        """Identity of the series the point belongs to (not its start time)."""
        def items(m: Mapping[str, TypedValue]) -> tuple[tuple[str, str], ...]:
            return tuple(sorted((k, repr(v.plain())) for k, v in m.items()))
        return (self.name, items(self.resource), self.scope_name, items(self.scope_attributes),
                items(self.attributes))


def _typed(attrs: Any) -> dict[str, TypedValue]:
    if not isinstance(attrs, Mapping):
        return {}
    return {str(k): typed_from_json(v) for k, v in attrs.items()
            if isinstance(v, Mapping) and v.get("type") not in (None, "empty")}


def point_from_json(d: Mapping[str, Any]) -> MetricPoint:
    """The ingest's point JSON (``StoredPoint.to_dict``) as a MetricPoint."""
    scope = d.get("scope") or {}
    return MetricPoint(
        name=str(d["name"]), unit=str(d.get("unit") or ""), type=str(d.get("type") or ""),
        temporality=str(d.get("temporality") or "unspecified"), start_ns=int(d.get("start_ns") or 0),
        time_ns=int(d.get("time_ns") or 0), attributes=_typed(d.get("attributes")), resource=_typed(d.get("resource")),
        scope_name=str(scope.get("name") or ""), scope_attributes=_typed(scope.get("attributes")),
        count=int(d.get("count") or 0), sum=float(d.get("sum") or d.get("value") or 0.0),
        bucket_counts=tuple(int(c) for c in d.get("bucket_counts") or ()),
        explicit_bounds=tuple(float(b) for b in d.get("explicit_bounds") or ()),
        request_id=None if d.get("request_id") is None else str(d["request_id"]),
    )
