"""A GenAI metrics snapshot -> ``ExportMetricsServiceRequest`` bytes (protobuf or OTLP JSON). Pure.

Each series becomes one explicit-bucket ``HistogramDataPoint`` under its resource (the gateway's,
from the spans) and the scope ``testbed.exporter.genai_metrics``. The scope carries the exporter's
instance id as an attribute: exporters sharing one consumer each write their own series, so two
writers never interleave points of one cumulative series (MET-05).
"""

from __future__ import annotations

import json
from typing import Any, Final

from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope, KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import (
    AggregationTemporality,
    HistogramDataPoint,
    Metric,
    ResourceMetrics,
    ScopeMetrics,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from testbed.exporter.encoder import JSON_CONTENT_TYPE, PROTOBUF_CONTENT_TYPE, any_value
from testbed.exporter.genai_metrics import INSTRUMENTS, AttrItems, Instrument, Snapshot

SCOPE_NAME: Final = "testbed.exporter.genai_metrics"
INSTANCE_ATTRIBUTE: Final = "testbed.exporter.instance.id"
_TEMPORALITY: Final = {
    "cumulative": AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE,
    "delta": AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA,
}


def _kvs(items: AttrItems) -> list[KeyValue]:
    return [KeyValue(key=k, value=any_value(v)) for k, v in items]


def build_request(snapshot: Snapshot, instance_id: str, version: str = "",
                  instruments: dict[str, Instrument] | None = None) -> ExportMetricsServiceRequest:
    """One ResourceMetrics per resource, one Metric per instrument, one point per series."""
    instruments = instruments or dict(INSTRUMENTS)
    request = ExportMetricsServiceRequest()
    resources: dict[AttrItems, ScopeMetrics] = {}
    metrics: dict[tuple[AttrItems, str], Metric] = {}
    for (resource, name, attrs), state in sorted(snapshot.series.items(), key=lambda kv: repr(kv[0])):
        if state.count == 0:
            continue
        scope = resources.get(resource)
        if scope is None:
            rm: ResourceMetrics = request.resource_metrics.add()
            rm.resource.CopyFrom(Resource(attributes=_kvs(resource)))
            scope = rm.scope_metrics.add()
            scope.scope.CopyFrom(InstrumentationScope(
                name=SCOPE_NAME, version=version, attributes=_kvs(((INSTANCE_ATTRIBUTE, instance_id),))))
            resources[resource] = scope
        metric = metrics.get((resource, name))
        if metric is None:
            instrument = instruments[name]
            metric = scope.metrics.add()
            metric.name, metric.unit, metric.description = name, instrument.unit, instrument.description
            metric.histogram.aggregation_temporality = _TEMPORALITY[snapshot.temporality]
            metrics[(resource, name)] = metric
        metric.histogram.data_points.append(HistogramDataPoint(
            attributes=_kvs(attrs), start_time_unix_nano=snapshot.start_ns, time_unix_nano=snapshot.time_ns,
            count=state.count, sum=state.total, bucket_counts=state.counts,
            explicit_bounds=list(state.boundaries), min=state.minimum, max=state.maximum,
        ))
    return request


def encode(request: ExportMetricsServiceRequest, protocol: str) -> tuple[bytes, str]:
    """Body and Content-Type for ``protocol`` (``http/protobuf`` or ``http/json``)."""
    if protocol == "http/json":
        data: dict[str, Any] = json_format.MessageToDict(request, use_integers_for_enums=True)
        return json.dumps(data, separators=(",", ":")).encode(), JSON_CONTENT_TYPE
    return request.SerializeToString(), PROTOBUF_CONTENT_TYPE


def point_count(request: ExportMetricsServiceRequest) -> int:
    return sum(len(m.histogram.data_points) for rm in request.resource_metrics
               for sm in rm.scope_metrics for m in sm.metrics)
