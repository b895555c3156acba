"""The exporter's counters (EXP-06), on a per-instance CollectorRegistry, and the ``/metrics`` app.

Normative names (SPEC 5.2) and the loss-accounting identity they serve (SPEC 7):

- ``testbed_exporter_events_consumed_total``: bus deliveries pulled (a redelivery counts again)
- ``testbed_exporter_spans_exported_total``: spans the ingest accepted (2xx, minus partial rejects)
- ``testbed_exporter_spans_dropped_total{reason}``: spans finished without export; counted when
  their message is acked or terminated, so a redelivered message is never counted twice. Reasons:
  ``permanent_<status>``, ``too_large``, ``partial_success``, ``response_too_large``,
  ``retries_exhausted``, ``unencodable`` (text UTF-8 cannot carry, such as a lone surrogate: the span
  is left out alone, its neighbours are exported)
- ``testbed_exporter_export_retries_total{reason}``: ``status_429|502|503|504``,
  ``connection_error``, ``timeout``, ``disconnected``
- ``testbed_exporter_spans_queued``: spans pulled and not yet finished (acked, terminated or NAKed)

Extras: ``testbed_exporter_events_dropped_total{reason="malformed"}`` (bus messages that are not a
TraceEvent, terminated), ``testbed_exporter_events_nacked_total{reason}``,
``testbed_exporter_held_redeliveries_total`` (deliveries of an event the exporter still held,
settled with the first copy instead of exported again),
``testbed_exporter_retry_after_clamped_total``, ``testbed_exporter_requests_total{status}``,
``testbed_exporter_batch_spans`` (histogram) and ``testbed_exporter_export_duration_seconds``
(histogram of whole-batch export time, retries included).
"""

from __future__ import annotations

from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from testbed.counters import (EXPORTER_EVENTS_CONSUMED, EXPORTER_EVENTS_DROPPED, EXPORTER_RETRIES,
                              EXPORTER_SPANS_DROPPED, EXPORTER_SPANS_EXPORTED, EXPORTER_SPANS_QUEUED)


SPAN_DROP_REASONS: Final = (
    "permanent_400", "permanent_401", "permanent_403", "permanent_404", "permanent_415", "permanent_500",
    "too_large", "partial_success", "response_too_large", "retries_exhausted", "unencodable",
)
RETRY_REASONS: Final = ("status_429", "status_502", "status_503", "status_504", "connection_error", "timeout",
                        "disconnected")


class ExporterMetrics:
    """All exporter metrics; also the sender's observer."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.events_consumed = Counter(
            EXPORTER_EVENTS_CONSUMED, "Bus deliveries pulled (redeliveries count again)", registry=r
        )
        self.events_dropped = Counter(
            EXPORTER_EVENTS_DROPPED, "Bus messages terminated unread, by reason", ["reason"], registry=r
        )
        self.events_nacked = Counter(
            "testbed_exporter_events_nacked", "Bus messages NAKed for redelivery, by reason", ["reason"], registry=r
        )
        self.held_redeliveries = Counter(
            "testbed_exporter_held_redeliveries", "Deliveries of an event still held, settled with its first copy",
            registry=r,
        )
        self.spans_exported = Counter(EXPORTER_SPANS_EXPORTED, "Spans accepted by the ingest", registry=r)
        self.spans_dropped = Counter(
            EXPORTER_SPANS_DROPPED, "Spans finished without export, by reason", ["reason"], registry=r
        )
        self.retries = Counter(
            EXPORTER_RETRIES, "Export requests retried, by reason", ["reason"], registry=r
        )
        self.clamped = Counter(
            "testbed_exporter_retry_after_clamped", "Retry-After values clamped to [0, 60 s]", registry=r
        )
        self.requests = Counter(
            "testbed_exporter_requests", "Export requests by HTTP status or transport error", ["status"], registry=r
        )
        self.spans_queued = Gauge(EXPORTER_SPANS_QUEUED, "Spans pulled and not yet finished", registry=r)
        self.batch_spans = Histogram(
            "testbed_exporter_batch_spans", "Spans per export batch",
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 512, 1024, 2048), registry=r,
        )
        self.export_duration = Histogram(
            "testbed_exporter_export_duration_seconds", "Batch export time, retries included",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60), registry=r,
        )

        # Known label values start at 0, so a scrape shows "no drops" rather than "no metric".
        for reason in SPAN_DROP_REASONS:
            self.spans_dropped.labels(reason=reason)
        for reason in RETRY_REASONS:
            self.retries.labels(reason=reason)
        self.events_dropped.labels(reason="malformed")

    # SendObserver
    def request_done(self, status: str, seconds: float) -> None:
        self.requests.labels(status=status).inc()

    def retry(self, reason: str) -> None:
        self.retries.labels(reason=reason).inc()

    def retry_after_clamped(self) -> None:
        self.clamped.inc()

    def partial_success(self, rejected: int) -> None:
        return None  # counted as drops when the messages are acked

    def render(self) -> bytes:
        return generate_latest(self.registry)


METRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST
