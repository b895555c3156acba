"""Periodic export of the GenAI metrics over OTLP/HTTP ``POST /v1/metrics`` (SPEC 12).

Same key, headers, compression, protocol, retry policy and deadline as the traces (EXP-01..04):
the request goes through a :class:`~testbed.exporter.sender.Sender` built from the traces
settings with the metrics endpoint. Every ``interval`` (and once more on a graceful stop) the
aggregator's snapshot is sent; a delta snapshot that was not delivered is merged back, a
permanently refused one is dropped and counted. The measurements come from spans whose bus
message was acked, so metrics never hold back an ack and an ack never waits on metrics.

Settings (resolved once, with the config; a key of the config's ``genai_metrics`` section wins over
its variable, by the precedence rule of :mod:`testbed.exporter.otel_env`):

- ``enabled`` / ``OTEL_METRICS_EXPORTER``: ``none`` turns the metrics off; default ``otlp``;
- ``endpoint`` / ``OTEL_EXPORTER_OTLP_METRICS_ENDPOINT``: the full URL, used as-is; default: the
  traces URL with ``/v1/traces`` replaced by ``/v1/metrics``;
- ``temporality`` / ``OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE``: ``cumulative``
  (default), ``delta`` or ``lowmemory`` (delta for histograms, as the OTLP exporter spec defines it);
- ``interval_ms`` / ``OTEL_METRIC_EXPORT_INTERVAL``: milliseconds between exports; default 1000
  (the SDK's 60000 is too slow for a testbed run).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gzip
import logging
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

import aiohttp
from prometheus_client import CollectorRegistry, Counter, Gauge

from testbed.counters import EXPORTER_MEASUREMENTS_PENDING
from testbed.errors import ConfigError
from testbed.exporter import metrics_encoder
from testbed.exporter.genai_metrics import INSTRUMENTS, GenAiAggregator, Instrument, Temporality
from testbed.exporter.retry import Action, Decision, RetryPolicy, decide
from testbed.exporter.sender import Clock, Sender, SenderSettings
from testbed.exporter.spans import SpanRecord
from testbed.exporter.otel_env import pick

log = logging.getLogger(__name__)

OTEL_METRICS_EXPORTER: Final = "OTEL_METRICS_EXPORTER"
"""``none`` disables the GenAI metrics; default ``otlp``."""
OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: Final = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"
"""Full metrics URL, used as-is; default: the traces URL ending in ``/v1/metrics``."""
OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: Final = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"
"""``cumulative`` (default), ``delta`` or ``lowmemory``."""
OTEL_METRIC_EXPORT_INTERVAL: Final = "OTEL_METRIC_EXPORT_INTERVAL"
"""Milliseconds between exports; default 1000."""
DEFAULT_INTERVAL_MS: Final = 1000


@dataclass(frozen=True, slots=True)
class GenAiMetricsSettings:
    enabled: bool = True
    endpoint: str = "http://localhost:4318/v1/metrics"
    temporality: Temporality = "cumulative"
    interval_s: float = DEFAULT_INTERVAL_MS / 1000


def metrics_endpoint(traces_endpoint: str) -> str:
    if traces_endpoint.endswith("/v1/traces"):
        return traces_endpoint[: -len("traces")] + "metrics"
    return traces_endpoint.rstrip("/") + "/v1/metrics"


def resolve_genai_metrics(traces: SenderSettings, env: Mapping[str, str],
                          explicit: Mapping[str, object] | None = None) -> GenAiMetricsSettings:
    """The metrics settings: config key, then variable, then default; a bad value raises ConfigError."""
    explicit = explicit or {}
    enabled_raw, _ = pick(explicit.get("enabled"), env, OTEL_METRICS_EXPORTER, None, "genai_metrics.enabled")
    enabled = enabled_raw is not False and str(enabled_raw or "otlp").lower() not in ("none", "false")
    endpoint, source = pick(explicit.get("endpoint"), env, OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, None,
                            "genai_metrics.endpoint")
    endpoint = str(endpoint or metrics_endpoint(traces.endpoint))
    if not endpoint.startswith(("http://", "https://")):
        raise ConfigError(f"{source}: {endpoint!r} is not an http(s) URL")
    raw, source = pick(explicit.get("temporality"), env, OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE, None,
                       "genai_metrics.temporality")
    preference = str(raw or "cumulative").strip().lower()
    if preference not in ("cumulative", "delta", "lowmemory"):
        raise ConfigError(f"{source}: {preference!r} is not cumulative, delta or lowmemory")
    raw, source = pick(explicit.get("interval_ms"), env, OTEL_METRIC_EXPORT_INTERVAL, None, "genai_metrics.interval_ms")
    try:
        interval_ms = int(str(raw if raw is not None else DEFAULT_INTERVAL_MS))
    except ValueError:
        raise ConfigError(f"{source}: expected milliseconds, got {raw!r}") from None
    if interval_ms <= 0:
        raise ConfigError(f"{source}: must be > 0")
    return GenAiMetricsSettings(enabled, endpoint, "cumulative" if preference == "cumulative" else "delta",
                                interval_ms / 1000)


class _BodySender(Sender):
    """A Sender for a ready body: the traces' retry loop, without span groups or splitting."""

    async def send_body(self, body: bytes, content_type: str) -> Decision:
        if self._settings.compression == "gzip":
            body = gzip.compress(body, compresslevel=5)
        deadline = self._clock.monotonic() + self._policy.deadline_s
        retries = 0
        while True:
            if self._shutdown.is_set():
                return Decision(Action.NAK, reason="shutdown")
            result, _ = await self._post(body, content_type)
            remaining = deadline - self._clock.monotonic()
            decision = decide(result, retries, remaining, self._policy, self._rng, self._clock.time())
            if decision.action is not Action.RETRY:
                return decision
            retries += 1
            if await self._clock.sleep(decision.delay_s, self._shutdown):
                return Decision(Action.NAK, reason="shutdown")


class _Counters:
    def __init__(self, registry: CollectorRegistry | None) -> None:
        registry = registry or CollectorRegistry()
        self.exports = Counter("testbed_exporter_genai_metric_exports", "GenAI metric export requests by outcome",
                               ["outcome"], registry=registry)
        self.points = Counter("testbed_exporter_genai_metric_points_exported", "Histogram points delivered",
                              registry=registry)
        self.pending = Gauge(EXPORTER_MEASUREMENTS_PENDING,
                             "Measurements recorded and not yet delivered", registry=registry)


class GenAiMetricsExport:
    """Records measurements from acked spans and sends them every interval; start/stop explicit."""

    def __init__(self, settings: GenAiMetricsSettings, sender: SenderSettings, policy: RetryPolicy, *,
                 registry: CollectorRegistry | None = None, clock: Clock | None = None,
                 instruments: Mapping[str, Instrument] = INSTRUMENTS, version: str = "") -> None:
        self.settings = settings
        self._sender_settings = dataclasses.replace(sender, endpoint=settings.endpoint)
        self._policy = policy
        self._clock = clock
        self._version = version
        self.instance_id = uuid.uuid4().hex
        self.aggregator = GenAiAggregator(settings.temporality, time.time_ns(), instruments)
        self._counters = _Counters(registry)
        aggregator = self.aggregator  # read at scrape time: no gauge update per recorded batch
        self._counters.pending.set_function(lambda: aggregator.pending)
        self._sender: _BodySender | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def record(self, spans: Iterable[SpanRecord]) -> None:
        if self.settings.enabled:
            self.aggregator.record_spans(spans)

    def start(self, session: aiohttp.ClientSession) -> None:
        if not self.settings.enabled:
            return
        self._sender = _BodySender(session, self._sender_settings, self._policy, clock=self._clock)
        self._task = asyncio.create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.interval_s)
            try:
                await self.flush()
            except Exception as exc:  # a bug here must not end the periodic export
                log.error("GenAI metrics export failed: %s", type(exc).__name__)

    async def flush(self) -> bool:
        """Send the current snapshot once (with retries); True when it was delivered."""
        if self._sender is None:
            return False
        async with self._lock:
            snapshot = self.aggregator.take(time.time_ns())
            request = metrics_encoder.build_request(snapshot, self.instance_id, self._version,
                                                    self.aggregator.instruments)
            if metrics_encoder.point_count(request) == 0:
                self.aggregator.delivered(snapshot)
                return True
            body, content_type = metrics_encoder.encode(request, self._sender_settings.protocol)
            decision = await self._sender.send_body(body, content_type)
            self._counters.exports.labels(outcome=decision.reason or decision.action.value).inc()
            if decision.action is Action.EXPORTED:
                self._counters.points.inc(metrics_encoder.point_count(request))
                self.aggregator.delivered(snapshot)
            elif decision.action is Action.DROP:
                log.warning("GenAI metrics refused for good (%s); the window is dropped", decision.reason)
                self.aggregator.delivered(snapshot)
            else:
                self.aggregator.restore(snapshot)
            return decision.action is Action.EXPORTED

    async def stop(self) -> None:
        """Stop the loop and send what is left once (a graceful stop loses no measurement)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.flush(), self._sender_settings.timeout_s or 10.0)
        if self._sender is not None:
            self._sender.shutdown()

    def abort(self) -> None:
        """Stop as a crash would: the unsent measurements are gone with the process."""
        if self._task is not None:
            self._task.cancel()
        if self._sender is not None:
            self._sender.shutdown()
