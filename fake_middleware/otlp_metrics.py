"""``ExportMetricsServiceRequest`` -> stored data points, with the invalid ones rejected. Pure.

Every data point of every metric type becomes one :class:`StoredPoint` carrying its metric's name,
unit, type and temporality, its resource and scope, and the request it came in (SPEC 12). A point
is rejected (counted in ``partial_success.rejected_data_points``, OTLP-06) when its metric has no
name, when ``time_unix_nano`` is 0 or before ``start_time_unix_nano``, or when a histogram's bucket
counts do not match its boundaries (one more count than bounds) or do not add up to its count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from fake_middleware.model import typed_attributes

TEMPORALITY_NAMES: Final = {0: "unspecified", 1: "delta", 2: "cumulative"}


@dataclass(frozen=True, slots=True)
class StoredPoint:
    """One metric data point as the ingest keeps it; attributes are typed values (model.py)."""

    name: str
    unit: str
    type: str
    """``histogram``, ``sum``, ``gauge``, ``exponential_histogram`` or ``summary``."""
    temporality: str
    attributes: dict[str, dict[str, Any]]
    resource: dict[str, dict[str, Any]]
    scope_name: str
    scope_attributes: dict[str, dict[str, Any]]
    start_ns: int
    time_ns: int
    tenant: str
    request_id: int
    arrival_ns: int
    count: int | None = None
    sum: float | None = None
    bucket_counts: tuple[int, ...] = ()
    explicit_bounds: tuple[float, ...] = ()
    value: float | None = None
    monotonic: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name, "unit": self.unit, "type": self.type, "temporality": self.temporality,
            "attributes": self.attributes, "resource": self.resource,
            "scope": {"name": self.scope_name, "attributes": self.scope_attributes},
            "start_ns": self.start_ns, "time_ns": self.time_ns, "tenant": self.tenant,
            "request_id": self.request_id, "arrival_ns": self.arrival_ns,
        }
        for key in ("count", "sum", "value", "monotonic"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.type == "histogram":
            out["bucket_counts"] = list(self.bucket_counts)
            out["explicit_bounds"] = list(self.explicit_bounds)
        return out


@dataclass(slots=True)
class ExtractedPoints:
    points: list[StoredPoint] = field(default_factory=list)
    rejected: int = 0
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Context:
    resource: dict[str, dict[str, Any]]
    scope_name: str
    scope_attributes: dict[str, dict[str, Any]]
    tenant: str
    request_id: int
    arrival_ns: int


def point_problem(name: str, start_ns: int, time_ns: int, counts: tuple[int, ...] | None = None,
                  bounds: tuple[float, ...] = (), count: int = 0) -> str | None:
    """Why a point is invalid, or None."""
    if not name:
        return "metric has no name"
    if time_ns == 0 or (start_ns and time_ns < start_ns):
        return "time_unix_nano is 0 or before start_time_unix_nano"
    if counts is not None and counts:
        if len(counts) != len(bounds) + 1:
            return f"{len(counts)} bucket counts for {len(bounds)} explicit bounds"
        if sum(counts) != count:
            return f"bucket counts add up to {sum(counts)}, not count {count}"
    return None


def extract_points(request: Any, tenant: str, arrival_ns: int, request_id: int) -> ExtractedPoints:
    """Valid points of one request; invalid ones counted with up to five reasons."""
    out = ExtractedPoints()
    for rm in request.resource_metrics:
        resource = typed_attributes(rm.resource.attributes)
        for sm in rm.scope_metrics:
            ctx = _Context(resource, sm.scope.name, typed_attributes(sm.scope.attributes), tenant, request_id,
                           arrival_ns)
            for metric in sm.metrics:
                _metric(metric, ctx, out)
    return out


def _metric(metric: Any, ctx: _Context, out: ExtractedPoints) -> None:
    which = metric.WhichOneof("data")
    if which is None:
        return
    data = getattr(metric, which)
    temporality = TEMPORALITY_NAMES.get(getattr(data, "aggregation_temporality", 0), "unspecified")
    if which == "gauge":
        temporality = "unspecified"
    for dp in data.data_points:
        counts: tuple[int, ...] | None = None
        fields: dict[str, Any] = {}
        if which == "histogram":
            counts = tuple(dp.bucket_counts)
            fields = {"count": dp.count, "sum": dp.sum if dp.HasField("sum") else None, "bucket_counts": counts,
                      "explicit_bounds": tuple(dp.explicit_bounds)}
        elif which in ("sum", "gauge"):
            kind = dp.WhichOneof("value")
            fields = {"value": float(getattr(dp, kind)) if kind else None}
            if which == "sum":
                fields["monotonic"] = bool(data.is_monotonic)
        else:
            fields = {"count": dp.count, "sum": dp.sum}
        problem = point_problem(metric.name, dp.start_time_unix_nano, dp.time_unix_nano, counts,
                                fields.get("explicit_bounds", ()), int(fields.get("count") or 0))
        if problem is not None:
            out.rejected += 1
            if len(out.reasons) < 5:
                out.reasons.append(f"metric {metric.name or '(unnamed)'}: {problem}")
            continue
        out.points.append(StoredPoint(
            name=metric.name, unit=metric.unit, type=which, temporality=temporality,
            attributes=typed_attributes(dp.attributes), resource=ctx.resource, scope_name=ctx.scope_name,
            scope_attributes=ctx.scope_attributes, start_ns=dp.start_time_unix_nano, time_ns=dp.time_unix_nano,
            tenant=ctx.tenant, request_id=ctx.request_id, arrival_ns=ctx.arrival_ns, **fields,
        ))
