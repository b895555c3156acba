"""GenAI metrics end to end (SPEC 12): real TraceEvents over a real nats-server, the exporter's
``/v1/metrics`` requests into the fake ingest, judged by the ``metrics`` check. Counts and token
sums agree exactly with the stored spans (MET-04) in delta and cumulative temporality; a second
exporter writes its own series, so MET-05 holds across a restart; a stop sends what is left."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator

import pytest

from fake_middleware import MiddlewareServer, Settings
from fake_middleware.keys import METRIC_STORE
from testbed.bus import NatsServer
from testbed.checks.evidence import ClientRecord, Evidence, ScenarioSettings
from testbed.checks.metric_points import point_from_json
from testbed.checks.metrics import MetricsCheck
from testbed.exporter.metrics_export import resolve_genai_metrics
from testbed.exporter.service import ExporterService
from testbed.runner.collect import span_view
from testbed.trace_event import RequestInfo, TraceEvent

from tests.testbed.exporter.events import T0, attempt, event
from tests.testbed.exporter.test_service import make_config, publish, wait_all_settled

pytestmark = pytest.mark.e2e
KEY = "mw-metrics-key-1"


@pytest.fixture
async def ingest() -> AsyncIterator[MiddlewareServer]:
    server = MiddlewareServer(Settings(keys={"default": KEY}))
    await server.start()
    yield server
    await server.stop()


def names() -> dict[str, str]:
    tag = uuid.uuid4().hex[:10]
    return {"stream": f"M_{tag}", "subject": f"met.{tag}.events", "durable": f"exp-{tag}"}


def events(n: int) -> list[TraceEvent]:
    streamed = RequestInfo(operation="chat", requested_model="fast", stream=True)
    return [event(request=streamed, attempts=[attempt(0, first_chunk_ns=T0 + 20_000_000)]) if i % 2 else event()
            for i in range(n)]


async def exporter(nats: NatsServer, bus: dict[str, str], ingest: MiddlewareServer, temporality: str,
                   interval_ms: int = 100) -> ExporterService:
    config = make_config(nats, bus, ingest.url + "/v1/traces", otlp={"api_key": KEY})
    config = dataclasses.replace(config, genai_metrics=resolve_genai_metrics(
        config.sender, {}, {"temporality": temporality, "interval_ms": interval_ms}))
    service = ExporterService(config)
    await service.start()
    return service


def judged(ingest: MiddlewareServer) -> tuple[Evidence, list[str]]:
    assert ingest.app is not None
    spans = tuple(span_view(s.to_dict()) for s in ingest.store.query())
    points = tuple(point_from_json(p.to_dict()) for p in ingest.app[METRIC_STORE].query())
    ev = Evidence(settings=ScenarioSettings(name="e2e", reference_gateway=True), spans=spans, metrics=points,
                  client=(ClientRecord(correlation_id="c", intended_ns=T0 - 10, sent_ns=T0 - 10),))
    result = MetricsCheck().run(ev)
    return ev, [f"{f.spec_id} {f.severity}: {f.message}" for f in result.findings] + [result.outcome]


def duration_count(ingest: MiddlewareServer) -> int:
    assert ingest.app is not None
    points = ingest.app[METRIC_STORE].query()
    return sum(p.count or 0 for p in points if p.name == "gen_ai.client.operation.duration"
               and p.temporality == "delta")


async def test_delta_metrics_agree_exactly_with_the_spans(nats_server: NatsServer, ingest: MiddlewareServer) -> None:
    bus = names()
    await publish(nats_server, bus, events(6))
    service = await exporter(nats_server, bus, ingest, "delta")
    try:
        await wait_all_settled(nats_server, bus)
        await ingest.store.wait_until(lambda s: duration_count(ingest) >= 6, 20.0, "6 operations in the metrics")
    finally:
        await service.stop(drain_timeout_s=1.0)
    ev, outcome = judged(ingest)
    assert outcome == ["passed"]
    assert sum(1 for s in ev.spans if s.kind == 3) == duration_count(ingest) == 6
    assert all(r.path in ("/v1/traces", "/v1/metrics") and r.auth_form == "raw" for r in ingest.store.requests())


async def test_a_stop_sends_what_is_left_and_a_second_exporter_writes_its_own_series(
        nats_server: NatsServer, ingest: MiddlewareServer) -> None:
    bus = names()
    await publish(nats_server, bus, events(4))
    first = await exporter(nats_server, bus, ingest, "cumulative", interval_ms=600_000)  # only the stop sends
    try:
        await wait_all_settled(nats_server, bus)
    finally:
        await first.stop(drain_timeout_s=1.0)
    assert ingest.app is not None and ingest.app[METRIC_STORE].query(), "the stop flushed the metrics"
    await publish(nats_server, bus, events(4))
    second = await exporter(nats_server, bus, ingest, "cumulative", interval_ms=100)
    try:
        await wait_all_settled(nats_server, bus)
    finally:
        await second.stop(drain_timeout_s=1.0)
    ev, outcome = judged(ingest)
    assert outcome == ["passed"]
    writers = {p.scope_attributes["testbed.exporter.instance.id"].plain() for p in ev.metrics}
    assert len(writers) == 2
