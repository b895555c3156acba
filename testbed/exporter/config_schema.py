"""The schema of the reference exporter's config file (pure). ``default_config.yaml`` lists every
key with its default; docs/exporter.md explains them.

Every section and key is optional, and ``null`` means "left out": OTLP, batch and GenAI-metrics
values left out come from the ``OTEL_*`` variables (``testbed.exporter.otel_env``), so the models
check types and bounds only and leave precedence to the resolver.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from testbed.schema import SchemaModel

__all__ = ["ExporterConfigModel"]

Positive = Field(None, gt=0)


class BusSectionModel(SchemaModel):
    """The NATS JetStream stream and the durable pull consumer every exporter shares."""

    url: str | None = None
    stream: str | None = None
    subject: str | None = None
    durable: str | None = None
    ack_wait_s: float | None = Positive
    max_deliver: int | None = Positive
    max_ack_pending: int | None = Positive
    fetch_wait_s: float | None = Positive
    connect_timeout_s: float | None = Positive
    replicas: int | None = Positive


class OtlpSectionModel(SchemaModel):
    """Where spans go; keys left out come from OTEL_EXPORTER_OTLP_TRACES_* > OTEL_EXPORTER_OTLP_*."""

    endpoint: str | None = None
    headers: dict[str, str | int | float] | None = None
    api_key: str | None = None
    timeout_ms: int | None = None
    compression: str | None = None
    protocol: str | None = None
    max_request_bytes: int | None = None


class BatchSectionModel(SchemaModel):
    schedule_delay_ms: int | None = None
    export_timeout_ms: int | None = None
    max_queue_size: int | None = None
    max_export_batch_size: int | None = None
    max_concurrent_exports: int | None = Positive


class RetrySectionModel(SchemaModel):
    initial_backoff_s: float | None = Positive
    max_backoff_s: float | None = Positive
    jitter: float | None = Field(None, ge=0, lt=1)
    retry_after_cap_s: float | None = None
    max_response_bytes: int | None = Positive


class MetricsSectionModel(SchemaModel):
    """Where the exporter serves its own Prometheus /metrics."""

    host: str | None = None
    port: int | None = Field(None, ge=0, le=65535)


class GenAiMetricsSectionModel(SchemaModel):
    """GenAI client metrics on /v1/metrics (SPEC 12)."""

    enabled: bool | str | None = None
    endpoint: str | None = None
    temporality: str | None = None
    interval_ms: int | None = None


class ExporterConfigModel(SchemaModel):
    """The reference exporter's config file."""

    bus: BusSectionModel | None = None
    otlp: OtlpSectionModel | None = None
    batch: BatchSectionModel | None = None
    retry: RetrySectionModel | None = None
    metrics: MetricsSectionModel | None = None
    genai_metrics: GenAiMetricsSectionModel | None = None
    defects: Any = Field(None, description="Seeded defects for testbed selftest: a list of names, or name: true")
