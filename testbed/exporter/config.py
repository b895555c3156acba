"""Exporter configuration: YAML -> frozen dataclasses, strict keys, env resolved once.

Every section and key is optional; the file is validated against
:mod:`testbed.exporter.config_schema`, so an unknown key or a wrong type raises
:class:`~testbed.errors.ConfigError` naming the file and key path (``otlp.timeout_ms``), with a
"did you mean" for a misspelt key. OTLP and batch
values left out (or ``null``) come from the ``OTEL_*`` variables by the precedence rule of
:mod:`testbed.exporter.otel_env`. See ``default_config.yaml`` for every key with its default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Final

import yaml

from testbed.bus import BusSettings
from testbed.errors import ConfigError
from testbed.exporter.config_schema import ExporterConfigModel
from testbed.exporter.defects import exporter_defects
from testbed.exporter.metrics_export import GenAiMetricsSettings, resolve_genai_metrics
from testbed.exporter.retry import MAX_RESPONSE_BYTES, RetryPolicy
from testbed.exporter.sender import MAX_REQUEST_BYTES, SenderSettings
from testbed.exporter.otel_env import BatchExplicit, BatchSettings, OtlpExplicit, resolve_batch, resolve_otlp
from testbed.schema import SchemaError, validate

DEFAULT_CONFIG_RESOURCE: Final = "default_config.yaml"


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    host: str = "127.0.0.1"
    port: int = 0


@dataclass(frozen=True, slots=True)
class ExporterConfig:
    bus: BusSettings = field(default_factory=BusSettings)
    sender: SenderSettings = field(default_factory=lambda: SenderSettings(endpoint="http://localhost:4318/v1/traces"))
    batch: BatchSettings = field(default_factory=lambda: resolve_batch(BatchExplicit(), {}))
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    max_concurrent_exports: int = 2
    fetch_wait_s: float = 0.5
    """Longest wait of one pull request on the bus; bounds how fast a stop is noticed."""
    connect_timeout_s: float = 10.0
    """How long the start waits for the bus before failing."""
    defects: frozenset[str] = frozenset()
    """Seeded defects for ``testbed selftest`` (``testbed.exporter.defects``); empty in real use."""
    genai_metrics: GenAiMetricsSettings = field(default_factory=lambda: GenAiMetricsSettings(enabled=False))
    """GenAI metrics over ``/v1/metrics`` (``testbed.exporter.metrics_export``), from the OTEL_* variables."""


def _section(model: ExporterConfigModel, name: str) -> dict[str, Any]:
    section = getattr(model, name)
    return {} if section is None else section.model_dump(exclude_none=True)


def parse_config(data: Mapping[str, Any] | None, env: Mapping[str, str], file: str = "") -> ExporterConfig:
    """Validate ``data`` (a parsed YAML mapping) and resolve it against ``env``; ``file`` names it in errors."""
    model = validate(ExporterConfigModel, data or {}, file)
    defects = exporter_defects(model.defects, env)
    bus, otlp, batch, retry, metrics, genai_metrics = (
        _section(model, n) for n in ("bus", "otlp", "batch", "retry", "metrics", "genai_metrics"))
    fetch_wait_s = float(bus.pop("fetch_wait_s", 0.5))
    connect_timeout_s = float(bus.pop("connect_timeout_s", 10.0))
    max_concurrent = int(batch.pop("max_concurrent_exports", 2))
    batch_settings = resolve_batch(BatchExplicit(**batch, origin="batch."), env)
    sender = _sender_settings(otlp, env)
    return ExporterConfig(
        bus=BusSettings(**bus),
        sender=sender,
        batch=batch_settings,
        retry=_retry_policy(retry, batch_settings.export_timeout_s),
        metrics=MetricsConfig(**metrics),
        max_concurrent_exports=max_concurrent,
        fetch_wait_s=fetch_wait_s,
        connect_timeout_s=connect_timeout_s,
        defects=defects,
        genai_metrics=resolve_genai_metrics(sender, env, genai_metrics),
    )


def _sender_settings(otlp: dict[str, Any], env: Mapping[str, str]) -> SenderSettings:
    resolved = resolve_otlp(
        OtlpExplicit(
            endpoint=otlp.get("endpoint"),
            headers={str(k): str(v) for k, v in otlp["headers"].items()} if "headers" in otlp else None,
            timeout_ms=otlp.get("timeout_ms"),
            compression=otlp.get("compression"),
            protocol=otlp.get("protocol"),
            origin="otlp.",
        ),
        env,
    )
    return SenderSettings(
        endpoint=resolved.endpoint,
        headers=resolved.headers,
        api_key=otlp.get("api_key"),
        timeout_s=resolved.timeout_s,
        compression=resolved.compression,
        protocol=resolved.protocol,
        max_request_bytes=int(otlp.get("max_request_bytes", MAX_REQUEST_BYTES)),
    )


def _retry_policy(retry: dict[str, Any], deadline_s: float) -> RetryPolicy:
    return RetryPolicy(
        initial_backoff_s=float(retry.get("initial_backoff_s", 0.5)),
        max_backoff_s=float(retry.get("max_backoff_s", 16.0)),
        jitter=float(retry.get("jitter", 0.2)),
        deadline_s=deadline_s,
        retry_after_cap_s=float(retry.get("retry_after_cap_s", 60.0)),
        max_response_bytes=int(retry.get("max_response_bytes", MAX_RESPONSE_BYTES)),
    )


def load_config(path: str | None, env: Mapping[str, str] | None = None) -> ExporterConfig:
    """Read ``path`` (or the packaged ``default_config.yaml`` when None) and resolve it."""
    env = os.environ if env is None else env
    if path is None:
        text = resources.files("testbed.exporter").joinpath(DEFAULT_CONFIG_RESOURCE).read_text("utf-8")
        source = DEFAULT_CONFIG_RESOURCE
    else:
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
        source = path
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML ({exc})") from None
    try:
        return parse_config(data, env, source)
    except SchemaError:
        raise
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
