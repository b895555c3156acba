"""Gateway defects on the request path, against a real in-process gateway, NATS and the fake
providers: each switch changes what reaches the bus or the provider exactly as it claims, the
clean gateway does not, and a defective gateway says so in its log and resource."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiohttp import web
from openai import AsyncOpenAI

from testbed.bus import NatsServer
from testbed.gateway import GatewayServer
from testbed.gateway.defects import STALL_S
from testbed.serving import start_site
from tests.testbed.gateway.support import (
    GATEWAY_KEY, REDACTED_KEY, events_for_trace, gateway_config, journal_for_trace, new_traceparent,
)

pytestmark = pytest.mark.e2e
MESSAGES = [{"role": "system", "content": "CNRY-SYS-0123456789abcdef0123"}, {"role": "user", "content": "hello"}]


@asynccontextmanager
async def gateway(providers_url: str, nats_url: str, *defects: str, **env: str) -> AsyncIterator[GatewayServer]:
    config = dataclasses.replace(gateway_config(providers_url, nats_url), defects=frozenset(defects))
    server = GatewayServer(config, environ=env)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def client(server: GatewayServer, key: str = GATEWAY_KEY) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0)


async def chat(server: GatewayServer, traceparent: str, key: str = GATEWAY_KEY) -> None:
    await client(server, key).chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, extra_headers={"traceparent": traceparent, "tracestate": "v=1"})


async def test_drop_traceparent_sends_no_trace_context_upstream_prop_03(providers_url: str,
                                                                        nats_server: NatsServer) -> None:
    async with gateway(providers_url, nats_server.url, "drop_traceparent") as gw:
        traceparent, trace_id, _ = new_traceparent()
        await chat(gw, traceparent)
        [event] = await events_for_trace(nats_server.url, trace_id)
    assert event.resource["testbed.defects"] == "drop_traceparent"
    assert await journal_for_trace(providers_url, trace_id) == []  # no upstream request carries the trace


async def test_new_trace_always_ignores_the_inbound_context_prop_01(providers_url: str,
                                                                    nats_server: NatsServer) -> None:
    async with gateway(providers_url, nats_server.url, "new_trace_always") as gw:
        traceparent, trace_id, _ = new_traceparent()
        correlation = f"corr-{trace_id[:8]}"
        await client(gw).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES,
                                                 extra_headers={"traceparent": traceparent,
                                                                "x-testbed-correlation-id": correlation})
        assert await journal_for_trace(providers_url, trace_id) == []
    async with gateway(providers_url, nats_server.url) as clean:
        traceparent, trace_id, parent = new_traceparent()
        await chat(clean, traceparent)
        [event] = await events_for_trace(nats_server.url, trace_id)
    assert event.trace.parent_span_id == parent and "testbed.defects" not in event.resource


async def test_leak_content_when_excluded_publishes_content_on_an_excluded_event_red_06(
        providers_url: str, nats_server: NatsServer) -> None:
    async with gateway(providers_url, nats_server.url, "leak_content_when_excluded") as gw:
        traceparent, trace_id, _ = new_traceparent()
        await chat(gw, traceparent, REDACTED_KEY)
        [event] = await events_for_trace(nats_server.url, trace_id)
    assert event.excluded is True
    assert "CNRY-SYS-0123456789abcdef0123" in event.to_json().decode()
    assert event.attempts[0].output_content is not None


async def test_stall_request_path_delays_every_response_by_its_stall(providers_url: str, nats_server: NatsServer,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="testbed.gateway.defects"):
        async with gateway(providers_url, nats_server.url, "stall_request_path") as gw:
            started = time.monotonic()
            await chat(gw, new_traceparent()[0])
            elapsed = time.monotonic() - started
    assert elapsed >= STALL_S
    assert [r.getMessage() for r in caplog.records if "seeded defects active" in r.getMessage()] == [
        "seeded defects active: stall_request_path (gateway; for testbed selftest only)"]


async def test_publish_in_request_path_holds_the_response_until_the_otlp_export_answers_iso_01(
        providers_url: str, nats_server: NatsServer) -> None:
    arrived, release = asyncio.Event(), asyncio.Event()
    seen: list[str] = []

    async def ingest(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        arrived.set()
        await release.wait()
        return web.Response(body=b"", content_type="application/x-protobuf")

    app = web.Application()
    app.router.add_post("/v1/traces", ingest)
    runner, url = await start_site(app, "127.0.0.1", 0)
    try:
        env = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{url}/v1/traces",
               "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "authorization=mw-key"}
        async with gateway(providers_url, nats_server.url, "publish_in_request_path", **env) as gw:
            call = asyncio.create_task(chat(gw, new_traceparent()[0]))
            await asyncio.wait_for(arrived.wait(), 20)
            assert not call.done()  # the response waits on the ingest
            release.set()
            await asyncio.wait_for(call, 20)
    finally:
        release.set()
        await runner.cleanup()
    assert seen == ["mw-key"]
