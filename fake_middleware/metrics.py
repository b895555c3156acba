"""Prometheus text for ``/metrics`` (SPEC EXP-06 names), read from the store at scrape time.

A custom collector on a per-app registry: the store's counters are the single source, so the
numbers on ``/metrics``, ``/api/v1/stats`` and the Python API always agree.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from fake_middleware.faults import FaultSet
from fake_middleware.store import SpanStore
from testbed.counters import (INGEST_RETRIES, INGEST_SPANS_ACCEPTED, INGEST_SPANS_DUPLICATE, INGEST_SPANS_REJECTED,
                              INGEST_SPANS_STORED)


class IngestCollector(Collector):
    def __init__(self, store: SpanStore, faults: FaultSet) -> None:
        self.store = store
        self.faults = faults

    def collect(self) -> Iterator[Metric]:
        stats = self.store.stats()
        for name, key, text in (
            (INGEST_SPANS_ACCEPTED, "spans_accepted", "Spans stored (first arrival of each trace/span id)."),
            (INGEST_SPANS_REJECTED, "spans_rejected", "Spans refused through partial_success."),
            (INGEST_SPANS_DUPLICATE, "spans_duplicate", "Spans received again with a known (trace_id, span_id)."),
            ("fake_middleware_spans_duplicate_differing", "spans_duplicate_differing", "Duplicates whose content differs."),
            ("fake_middleware_request_bytes", "bytes_wire", "Request body bytes as received."),
            ("fake_middleware_request_decoded_bytes", "bytes_decoded", "Request body bytes after Content-Encoding decoding."),
            (INGEST_RETRIES, "retries", "Requests whose decoded body equals an earlier request's."),
            ("fake_middleware_raw_bodies_dropped", "raw_bodies_dropped", "Raw bodies dropped to stay under the cap."),
        ):
            yield CounterMetricFamily(name, text, value=stats[key])
        requests = CounterMetricFamily("fake_middleware_requests", "OTLP requests by HTTP status or outcome.",
                                       labels=["status"])
        for status, count in sorted(stats["by_status"].items()):
            requests.add_metric([status], count)
        yield requests
        tenants = CounterMetricFamily("fake_middleware_tenant_spans_accepted", "Spans stored per tenant.",
                                      labels=["tenant"])
        for tenant, counts in sorted(stats["by_tenant"].items()):
            tenants.add_metric([tenant], counts.get("spans_accepted", 0))
        yield tenants
        yield GaugeMetricFamily(INGEST_SPANS_STORED, "Spans in the store.", value=stats["spans"])
        applied = CounterMetricFamily("fake_middleware_fault_applications", "Fault applications by kind.",
                                      labels=["kind"])
        counts: dict[str, int] = {}
        for entry in self.faults.timeline:
            if entry.event == "applied":
                counts[entry.kind] = counts.get(entry.kind, 0) + 1
        for kind, count in sorted(counts.items()):
            applied.add_metric([kind], count)
        yield applied


def make_registry(store: SpanStore, faults: FaultSet) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(IngestCollector(store, faults))
    return registry
