"""The gateway's Prometheus counters, on a per-app registry (EXP-06 names are normative).

- ``testbed_gateway_requests_total{route,status}``: inbound requests by HTTP status
- ``testbed_gateway_events_published_total``: TraceEvents acknowledged by JetStream
- ``testbed_gateway_events_dropped_total{reason}`` and ``testbed_gateway_spans_dropped_total{reason}``:
  ``queue_full``, ``stream_full``, ``bus_rejected``, ``too_large``, ``shutdown``
- ``testbed_gateway_events_truncated_total``: events whose content was shortened to fit (GW-09)
- ``testbed_gateway_event_queue_depth``: events waiting in the publisher queue
- ``testbed_gateway_bus_connected``: 1 while the publisher holds a NATS connection
- ``testbed_gateway_upstream_attempts_total{provider,target,outcome}`` and
  ``testbed_gateway_upstream_latency_seconds{provider,target}``: upstream requests
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from testbed.counters import (GATEWAY_EVENTS_DROPPED, GATEWAY_EVENTS_PUBLISHED, GATEWAY_QUEUE_DEPTH, GATEWAY_REQUESTS,
                              GATEWAY_SPANS_DROPPED)

DROP_REASONS: Final = ("queue_full", "stream_full", "bus_rejected", "too_large", "shutdown")
CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(GATEWAY_REQUESTS, "Inbound requests by route and HTTP status",
                                ["route", "status"], registry=r)
        self.events_published = Counter(GATEWAY_EVENTS_PUBLISHED, "TraceEvents acked by JetStream",
                                        registry=r)
        self.events_dropped = Counter(GATEWAY_EVENTS_DROPPED, "TraceEvents dropped, by reason",
                                      ["reason"], registry=r)
        self.spans_dropped = Counter(GATEWAY_SPANS_DROPPED, "Spans in dropped TraceEvents, by reason",
                                     ["reason"], registry=r)
        self.events_truncated = Counter("testbed_gateway_events_truncated", "TraceEvents whose content was "
                                        "shortened to fit the bus max_payload", registry=r)
        self.queue_depth = Gauge(GATEWAY_QUEUE_DEPTH, "TraceEvents waiting to be published",
                                 registry=r)
        self.bus_connected = Gauge("testbed_gateway_bus_connected", "1 while connected to NATS", registry=r)
        self.upstream_attempts = Counter("testbed_gateway_upstream_attempts", "Upstream requests by outcome",
                                         ["provider", "target", "outcome"], registry=r)
        self.upstream_latency = Histogram("testbed_gateway_upstream_latency_seconds",
                                          "Upstream request duration (to the last byte)",
                                          ["provider", "target"], buckets=_LATENCY_BUCKETS, registry=r)
        for reason in DROP_REASONS:
            self.events_dropped.labels(reason)
            self.spans_dropped.labels(reason)

    def track_queue(self, depth: Callable[[], int]) -> None:
        self.queue_depth.set_function(lambda: float(depth()))

    def dropped(self, reason: str, spans: int) -> None:
        self.events_dropped.labels(reason).inc()
        self.spans_dropped.labels(reason).inc(spans)

    def render(self) -> bytes:
        return generate_latest(self.registry)
