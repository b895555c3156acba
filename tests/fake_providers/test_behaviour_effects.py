"""What each behaviour does on the wire (SPEC section 10): latency, TTFT, inter-token gap, chunking,
truncation, reset, hang, slow body, usage chunk, forced finish reasons and retry headers.

Timing checks compare a delayed phase with an undelayed one in the same run and use lower bounds
(a wait never ends early); the journal's own timestamps give the server-side view.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from testbed.waiting import wait_until_async
from tests.fake_providers.helpers import ANTHROPIC_AUTH, GEMINI_AUTH, OPENAI_AUTH, sse_events

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "stream": True}
MESSAGE = {"model": "claude-x", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]}


async def timed(client: TestClient, body: Any, headers: dict[str, str], path: str = "/v1/chat/completions") -> tuple[float, bytes]:
    start = time.monotonic()
    resp = await client.post(path, json=body, headers={**OPENAI_AUTH, **headers})
    raw = await resp.read()
    return time.monotonic() - start, raw


async def journal(client: TestClient) -> list[dict[str, Any]]:
    return (await (await client.get("/_fake/journal")).json())["entries"]


def content_chunks(raw: bytes) -> list[str]:
    chunks = [json.loads(d) for _, d in sse_events(raw) if d != "[DONE]"]
    return [c["choices"][0]["delta"]["content"] for c in chunks if c.get("choices") and c["choices"][0]["delta"].get("content")]


async def test_latency_delays_the_whole_answer(client: TestClient) -> None:
    fast, _ = await timed(client, CHAT, {})
    slow, _ = await timed(client, CHAT, {"x-fake-latency-ms": "150"})
    assert slow >= 0.15 > fast
    assert (await journal(client))[1]["response"]["latency_ms"] == 150.0


async def test_ttft_delays_the_first_byte_and_is_journalled(client: TestClient) -> None:
    await timed(client, CHAT, {"x-fake-ttft-ms": "120"})
    (entry,) = await journal(client)
    response = entry["response"]
    assert response["ttft_ms"] == 120.0
    assert response["first_byte_ns"] - entry["time_ns"] >= 120_000_000
    assert response["last_byte_ns"] >= response["first_byte_ns"]


async def test_the_inter_token_gap_spaces_content_chunks(client: TestClient) -> None:
    quick, raw = await timed(client, CHAT, {"x-fake-tokens-per-chunk": "8"})
    gapped, raw_gapped = await timed(client, CHAT, {"x-fake-tokens-per-chunk": "8", "x-fake-itl-ms": "40"})
    n = len(content_chunks(raw_gapped))
    assert content_chunks(raw) == content_chunks(raw_gapped) and n >= 3
    assert gapped >= 0.04 * (n - 1) > quick


async def test_tokens_per_chunk_groups_tokens_but_still_splits_the_out_canary(client: TestClient) -> None:
    _, raw = await timed(client, CHAT, {"x-fake-tokens-per-chunk": "1000"})
    chunks = content_chunks(raw)
    assert len(chunks) == 2 and chunks[0].startswith("CNRY-OUT-") and len(chunks[0]) == len("CNRY-OUT-") + 10


async def test_truncate_after_chunks_ends_the_stream_without_a_terminator(client: TestClient) -> None:
    _, raw = await timed(client, CHAT, {"x-fake-truncate-after-chunks": "3"})
    assert b"[DONE]" not in raw and len(content_chunks(raw)) == 3
    assert (await journal(client))[0]["response"]["outcome"] == "truncated"


async def test_truncate_after_bytes_cuts_the_body_at_that_byte(client: TestClient) -> None:
    _, raw = await timed(client, CHAT, {"x-fake-truncate-after-bytes": "500"})
    assert len(raw) == 500


async def test_a_reset_before_headers_drops_the_connection(client: TestClient) -> None:
    with pytest.raises(aiohttp.ClientError):
        await client.post("/v1/chat/completions", json=CHAT, headers={**OPENAI_AUTH, "x-fake-reset-after-bytes": "0"})
    assert (await journal(client))[0]["response"]["outcome"] == "reset"


async def test_a_reset_after_bytes_drops_the_connection_mid_body(client: TestClient) -> None:
    resp = await client.post("/v1/chat/completions", json=CHAT, headers={**OPENAI_AUTH, "x-fake-reset-after-bytes": "300"})
    with pytest.raises(aiohttp.ClientError):
        await resp.read()
    entry = (await journal(client))[0]["response"]
    assert entry["outcome"] == "reset" and entry["bytes"] == 300


async def test_a_hang_with_a_hold_closes_without_an_answer(client: TestClient) -> None:
    start = time.monotonic()
    with pytest.raises(aiohttp.ClientError):
        await client.post("/v1/chat/completions", json=CHAT, headers={**OPENAI_AUTH, "x-fake-hang-hold-ms": "100"})
    assert time.monotonic() - start >= 0.1
    assert (await journal(client))[0]["response"]["outcome"] == "hang"


async def test_a_forever_hang_ends_when_the_client_leaves(client: TestClient) -> None:
    request = client.post("/v1/chat/completions", json=CHAT, headers={**OPENAI_AUTH, "x-fake-hang-hold-ms": "0"})
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(request, timeout=0.2)

    async def settled() -> bool:
        entries = await journal(client)
        return bool(entries) and entries[0]["done"]

    await wait_until_async(settled, 5, what="the hanging handler to notice the disconnect")
    metrics = await (await client.get("/metrics")).text()
    assert "fake_providers_in_flight 0.0" in metrics


async def test_slow_body_trickles_the_bytes(client: TestClient) -> None:
    quick, raw = await timed(client, {**CHAT, "stream": False}, {})
    slow, raw_slow = await timed(client, {**CHAT, "stream": False}, {"x-fake-slow-body-bytes-per-s": "4000",
                                                                      "x-fake-slow-body-chunk-bytes": "100"})  # fmt: skip
    assert json.loads(raw)["choices"] == json.loads(raw_slow)["choices"]
    assert slow >= (len(raw_slow) - 100) / 4000 > quick


async def test_the_usage_chunk_can_be_forced_on_and_off(client: TestClient) -> None:
    _, forced_on = await timed(client, CHAT, {"x-fake-usage-chunk": "on"})
    _, forced_off = await timed(client, {**CHAT, "stream_options": {"include_usage": True}}, {"x-fake-usage-chunk": "off"})
    assert json.loads(sse_events(forced_on)[-2][1])["choices"] == []
    assert b'"usage"' not in forced_off
    off = (await journal(client))[1]["response"]
    assert off["usage_reported"] is False and off["usage"]["output_tokens"] > 0


async def test_a_forced_finish_reason_maps_to_each_provider(client: TestClient) -> None:
    headers = {"x-fake-finish-reason": "content_filter"}
    _, raw = await timed(client, {**CHAT, "stream": False}, headers)
    assert json.loads(raw)["choices"][0]["finish_reason"] == "content_filter"
    resp = await client.post("/v1/messages", json=MESSAGE, headers={**ANTHROPIC_AUTH, **headers})
    assert (await resp.json())["stop_reason"] == "refusal"
    body = {"contents": [{"parts": [{"text": "hi"}]}]}
    resp = await client.post("/v1beta/models/g:generateContent", json=body, headers={**GEMINI_AUTH, **headers})
    assert (await resp.json())["candidates"][0]["finishReason"] == "SAFETY"


async def test_throttling_sends_retry_hints_and_a_should_retry_header(client: TestClient) -> None:
    headers = {"x-fake-status": "429", "x-fake-retry-after-ms": "1500", "x-fake-should-retry": "false"}
    resp = await client.post("/v1/chat/completions", json=CHAT, headers={**OPENAI_AUTH, **headers})
    assert resp.status == 429 and resp.headers["retry-after-ms"] == "1500" and resp.headers["retry-after"] == "2"
    assert resp.headers["x-should-retry"] == "false" and resp.headers["x-ratelimit-limit-requests"]
    assert (await resp.json())["error"]["code"] == "rate_limit_exceeded"
    resp = await client.post("/v1/messages", json=MESSAGE, headers={**ANTHROPIC_AUTH, "x-fake-status": "429"})
    assert resp.headers["retry-after"] == "1" and "retry-after-ms" not in resp.headers
    resp = await client.post("/v1/messages", json=MESSAGE, headers={**ANTHROPIC_AUTH, "x-fake-status": "429",
                                                                   "x-fake-retry-after": "none"})  # fmt: skip
    assert "retry-after" not in resp.headers
    resp = await client.post("/v1/chat/completions", json=CHAT, headers={**OPENAI_AUTH, "x-fake-status": "400"})
    assert "retry-after" not in resp.headers


async def test_jitter_stays_within_its_bound_and_is_seeded(client: TestClient) -> None:
    headers = {"x-fake-latency-ms": "10", "x-fake-jitter-ms": "40"}
    for _ in range(4):
        await timed(client, {**CHAT, "stream": False}, headers)
    latencies = [e["response"]["latency_ms"] for e in await journal(client)]
    assert all(10 <= v <= 50 for v in latencies) and len(set(latencies)) > 1
    await client.post("/_fake/reset")
    for _ in range(4):
        await timed(client, {**CHAT, "stream": False}, headers)
    assert [e["response"]["latency_ms"] for e in await journal(client)] == latencies
