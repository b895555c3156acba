"""Helpers for the gateway's end-to-end tests: the test config built on the shipped one, fresh
trace contexts, TraceEvents read back from a JetStream consumer, and the fake provider's journal."""

from __future__ import annotations

import time
import uuid
from typing import Any

import aiohttp
import yaml

from testbed.bus import BusSettings, connect, ensure_stream
from testbed.bus.subjects import STREAM_NAME, SUBJECT
from testbed.gateway import default_config_path, parse_config
from testbed.trace_event import TraceEvent

GATEWAY_KEY = "sk-gw-e2e-0123456789"
REDACTED_KEY = "sk-gw-e2e-redacted-0123"
PROVIDER_KEY = "sk-up-e2e-0123456789"
BEHAVIOURS = [
    {"model": "gpt-4o", "status": 429},
    {"model": "claude-3-5-haiku-latest", "mid_stream_error": {"after_chunks": 2}},
    {"model": "slow-model", "itl_ms": 300},
]


def gateway_config(providers_url: str, nats_url: str) -> Any:
    with open(default_config_path(), encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    data["models"]["flaky"] = {"targets": [
        {"id": "flaky-openai", "provider": "openai", "model": "gpt-4o", "weight": 1,
         "base_url": "${providers_url}/v1", "api_key": "${provider_api_key}"},
        {"id": "flaky-anthropic", "provider": "anthropic", "model": "claude-sonnet-4-20250514", "weight": 0,
         "base_url": "${providers_url}", "api_key": "${provider_api_key}"},
    ]}
    data["models"]["broken-stream"] = {"targets": [
        {"id": "broken", "provider": "anthropic", "model": "claude-3-5-haiku-latest",
         "base_url": "${providers_url}", "api_key": "${provider_api_key}"}]}
    data["models"]["slow"] = {"targets": [
        {"id": "slow", "provider": "openai", "model": "slow-model", "base_url": "${providers_url}/v1",
         "api_key": "${provider_api_key}"}]}
    variables = {"providers_url": providers_url, "nats_url": nats_url, "gateway_port": "0",
                 "gateway_api_key": GATEWAY_KEY, "gateway_redacted_api_key": REDACTED_KEY,
                 "provider_api_key": PROVIDER_KEY}
    return parse_config(data, variables=variables, environ={})


def new_traceparent() -> tuple[str, str, str]:
    trace_id, parent = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    return f"00-{trace_id}-{parent}-01", trace_id, parent


async def events_for_trace(nats_url: str, trace_id: str, count: int = 1, timeout: float = 20.0) -> list[TraceEvent]:
    """The TraceEvents of ``trace_id`` read from a fresh JetStream consumer, waiting up to ``timeout``."""
    nc = await connect(nats_url, "gateway-e2e-reader")
    found: list[TraceEvent] = []
    try:
        js = nc.jetstream()
        await ensure_stream(js, BusSettings(url=nats_url))
        sub = await js.pull_subscribe(SUBJECT, durable=f"e2e-{uuid.uuid4().hex[:8]}", stream=STREAM_NAME)
        deadline = time.monotonic() + timeout
        while len(found) < count and time.monotonic() < deadline:
            try:
                messages = await sub.fetch(200, timeout=1.0)
            except TimeoutError:
                continue
            for msg in messages:
                event = TraceEvent.from_json(msg.data)
                if event.trace.trace_id == trace_id:
                    found.append(event)
    finally:
        await nc.close()
    assert len(found) >= count, f"{len(found)} event(s) for trace {trace_id} within {timeout}s"
    return found


async def journal_for_trace(providers_url: str, trace_id: str) -> list[dict[str, Any]]:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{providers_url}/_fake/journal") as resp:
            entries = (await resp.json())["entries"]
    return [e for e in entries if trace_id in e["headers"].get("traceparent", "")]
