"""The exporter against the fake Middleware ingest (SPEC 5, 6): real TraceEvents over a real
nats-server become spans the ingest stores with their attribute types intact (SEM-12), sent with
the raw key (MW-02), gzip and a User-Agent (OTLP-04/15); a 503x2 burst at the ingest loses nothing
and the retries are visible in the ingest's request log (OTLP-08, LOSS-02)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from fake_middleware import MiddlewareServer, Settings

from testbed.bus import NatsServer
from testbed.exporter.service import ExporterService
from testbed.trace_event import RequestInfo, RequestParams

from tests.testbed.exporter.events import attempt, content, event
from tests.testbed.exporter.test_service import expected_keys, make_config, publish, wait_all_settled

pytestmark = pytest.mark.e2e
KEY = "mw-ingest-key-1"


@pytest.fixture
async def ingest() -> AsyncIterator[MiddlewareServer]:
    server = MiddlewareServer(Settings(keys={"default": KEY}, auth_mode="raw"))
    await server.start()
    yield server
    await server.stop()


def bus_names() -> dict[str, str]:
    tag = uuid.uuid4().hex[:10]
    return {"stream": f"I_{tag}", "subject": f"ing.{tag}.events", "durable": f"exp-{tag}"}


async def run_exporter(nats: NatsServer, names: dict[str, str], ingest: MiddlewareServer) -> ExporterService:
    config = make_config(nats, names, ingest.url + "/v1/traces", otlp={"api_key": KEY})
    service = ExporterService(config)
    await service.start()
    return service


async def test_spans_reach_the_ingest_with_types_intact_and_the_raw_key(
    nats_server: NatsServer, ingest: MiddlewareServer
) -> None:
    names = bus_names()
    streamed = RequestInfo(operation="chat", requested_model="fast", stream=True,
                           params=RequestParams(temperature=0.7, top_k=20, max_tokens=50), content=content())
    events = [event(request=streamed, attempts=[attempt(0, first_chunk_ns=event().start_ns + 30_000_000)])
              for _ in range(8)]
    await publish(nats_server, names, events)
    service = await run_exporter(nats_server, names, ingest)
    try:
        want = expected_keys(events)
        await ingest.store.wait_until(lambda s: {sp.key for sp in s.query()} >= want, 20.0, "all spans stored")
        await wait_all_settled(nats_server, names)
    finally:
        await service.stop(drain_timeout_s=1.0)
    client = next(s for s in ingest.store.query() if s.kind == 3)
    assert client.attr_type("gen_ai.usage.input_tokens") == "int"
    assert client.attr_type("gen_ai.request.temperature") == "double"
    assert client.attr_type("gen_ai.request.top_k") == "double"
    assert client.attr_type("gen_ai.request.stream") == "bool"
    assert client.attr_type("gen_ai.response.finish_reasons") == "array"
    assert client.scope.name == "testbed.gateway"
    records = ingest.store.requests()
    assert records and all(r.auth_form == "raw" and r.status == 200 for r in records)
    assert all(r.content_encoding == "gzip" and r.user_agent.startswith("testbed-exporter/") for r in records)
    assert ingest.store.canary(KEY.encode()) == []  # RED-08: the ingest key never appears in spans


async def test_a_503_burst_at_the_ingest_loses_nothing(nats_server: NatsServer, ingest: MiddlewareServer) -> None:
    names = bus_names()
    events = [event() for _ in range(6)]
    ingest.add_fault("status", status=503, times=2)
    await publish(nats_server, names, events)
    service = await run_exporter(nats_server, names, ingest)
    try:
        want = expected_keys(events)
        await ingest.store.wait_until(lambda s: {sp.key for sp in s.query()} >= want, 20.0, "all spans stored")
        await wait_all_settled(nats_server, names)
        retries = service.metrics.registry.get_sample_value(
            "testbed_exporter_export_retries_total", {"reason": "status_503"})
    finally:
        await service.stop(drain_timeout_s=1.0)
    assert retries == 2
    statuses = [r.status for r in ingest.store.requests()]
    assert statuses.count(503) == 2 and statuses.count(200) >= 1
    assert len({sp.key for sp in ingest.store.query()}) == len(want)
