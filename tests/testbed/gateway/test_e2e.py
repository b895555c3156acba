"""End to end: the real ``openai`` SDK -> the gateway (in-process) -> the fake providers, and the
TraceEvent read back from a real JetStream consumer. Covers each provider format streamed and not,
tools, ``n=2``, embeddings, fallback after a 429, auth, a mid-stream error, Exclude Request Data,
and a dead bus (GW-08). Events are matched on the trace id sent in ``traceparent`` (PROP-01/02);
the fake's journal proves the upstream ``traceparent`` carries each attempt's span id (PROP-03,
GW-04) and that usage and finish reasons are the provider's (SEM-09, SEM-10, SEM-11)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import openai
import pytest

from testbed.bus import NatsServer
from testbed.gateway import GatewayServer
from testbed.trace_event import TraceEvent
from testbed.waiting import wait_until_async
from tests.testbed.gateway.support import (
    GATEWAY_KEY,
    PROVIDER_KEY,
    REDACTED_KEY,
    events_for_trace,
    gateway_config,
    journal_for_trace,
    new_traceparent,
)

pytestmark = pytest.mark.e2e

PROVIDERS = [("gpt-4o-mini", "openai"), ("claude-sonnet-4", "anthropic"), ("gemini-2.0-flash", "gcp.gemini")]
MESSAGES = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "say hello"}]


@pytest.fixture(autouse=True)
async def _close_clients() -> AsyncIterator[None]:
    yield
    while _OPEN:
        await _OPEN.pop().close()


_OPEN: list[openai.AsyncOpenAI] = []


def client(gateway: GatewayServer, key: str = GATEWAY_KEY, strict: bool = True) -> openai.AsyncOpenAI:
    """SDK-01: strict validation, so a drifted response field fails the test."""
    sdk = openai.AsyncOpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0,
                             _strict_response_validation=strict)
    _OPEN.append(sdk)
    return sdk


def assert_matches_journal(event: TraceEvent, journal: list[dict[str, Any]]) -> None:
    """One CLIENT attempt per upstream request, linked by traceparent; the provider's own facts."""
    assert len(journal) == len(event.attempts)
    for attempt, entry in zip(event.attempts, journal, strict=True):
        assert entry["headers"]["traceparent"] == f"00-{event.trace.trace_id}-{attempt.span_id}-01"
        assert PROVIDER_KEY not in str(entry["headers"]) and GATEWAY_KEY not in str(entry["headers"])
        assert attempt.http_status == entry["response"]["status"]
    last, entry = event.attempts[-1], journal[-1]["response"]
    if entry["status"] == 200:
        assert last.response.usage.input == entry["usage"]["input_tokens"]
        assert last.response.usage.output == entry["usage"]["output_tokens"]
        assert last.response.finish_reasons == entry["finish_reasons"]
        assert last.response.id == entry["id"] and last.response.model == entry["model"]


@pytest.mark.parametrize(("model", "provider"), PROVIDERS)
async def test_a_chat_completion_through_each_provider_format(gateway: GatewayServer, providers_url: str,
                                                              nats_server: NatsServer, model: str, provider: str) -> None:
    traceparent, trace_id, parent = new_traceparent()
    completion = await client(gateway).chat.completions.create(
        model=model, messages=MESSAGES, max_tokens=40, temperature=0.5,
        extra_headers={"traceparent": traceparent, "x-testbed-correlation-id": "corr-42"})
    assert completion.choices[0].message.content
    [event] = await events_for_trace(nats_server.url, trace_id)
    assert event.trace.parent_span_id == parent and event.http.status_code == 200
    assert event.request.operation == "chat" and event.request.requested_model == model
    assert event.request.stream is False and event.request.params.max_tokens == 40
    assert event.correlation_id == "corr-42" and event.error_type is None
    [attempt] = event.attempts
    assert attempt.provider == provider and attempt.error_type is None
    assert completion.usage.prompt_tokens == attempt.response.usage.input
    assert completion.usage.completion_tokens == attempt.response.usage.output
    assert event.start_ns <= attempt.start_ns < attempt.end_ns <= event.end_ns
    assert event.request.content is not None and attempt.output_content[0]["parts"][0]["content"] == \
        completion.choices[0].message.content
    assert_matches_journal(event, await journal_for_trace(providers_url, trace_id))


@pytest.mark.parametrize(("model", "provider"), PROVIDERS)
@pytest.mark.parametrize("include_usage", [True, False])
async def test_a_streamed_chat_through_each_provider_format(gateway: GatewayServer, providers_url: str,
                                                            nats_server: NatsServer, model: str, provider: str,
                                                            include_usage: bool) -> None:
    traceparent, trace_id, _ = new_traceparent()
    stream = await client(gateway).chat.completions.create(
        model=model, messages=MESSAGES, stream=True, stream_options={"include_usage": include_usage},
        extra_headers={"traceparent": traceparent})
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    usage_chunks = [c for c in chunks if not c.choices]
    assert text
    assert len(usage_chunks) == (1 if include_usage else 0)  # SEM-15
    [event] = await events_for_trace(nats_server.url, trace_id)
    [attempt] = event.attempts
    assert event.request.stream is True and attempt.error_type is None
    assert attempt.response.usage.output is not None and attempt.response.usage.output > 0
    if include_usage:
        assert usage_chunks[0].usage.completion_tokens == attempt.response.usage.output
    assert attempt.start_ns < attempt.first_chunk_ns <= attempt.end_ns <= event.end_ns  # SEM-16, SEM-17
    assert event.first_byte_ns is not None and event.first_byte_ns <= event.end_ns
    assert attempt.output_content[0]["parts"][0]["content"] == text
    assert_matches_journal(event, await journal_for_trace(providers_url, trace_id))


@pytest.mark.parametrize(("model", "semconv_finish"),
                         [("gpt-4o-mini", "tool_call"), ("claude-sonnet-4", "tool_call"), ("gemini-2.0-flash", "stop")])
async def test_tool_calls_come_back_in_the_openai_shape(gateway: GatewayServer, nats_server: NatsServer,
                                                        model: str, semconv_finish: str) -> None:
    """The front says ``tool_calls`` for every provider; ``output.messages`` follows SEM-21 on the raw
    value (Gemini reports a function call with ``STOP``, which SEM-21 maps to ``stop``)."""
    traceparent, trace_id, _ = new_traceparent()
    tools = [{"type": "function", "function": {"name": "get_weather", "description": "weather for a city",
                                               "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
    completion = await client(gateway).chat.completions.create(
        model=model, messages=MESSAGES, tools=tools, extra_headers={"traceparent": traceparent})
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls[0].function.name == "get_weather"
    [event] = await events_for_trace(nats_server.url, trace_id)
    assert event.request.content.tools[0]["name"] == "get_weather"
    output = event.attempts[0].output_content[0]
    assert output["finish_reason"] == semconv_finish
    assert any(p["type"] == "tool_call" and p["name"] == "get_weather" for p in output["parts"])


async def test_n_two_gives_two_choices_and_two_finish_reasons(gateway: GatewayServer, nats_server: NatsServer) -> None:
    traceparent, trace_id, _ = new_traceparent()
    completion = await client(gateway).chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, n=2, extra_headers={"traceparent": traceparent})
    assert [c.index for c in completion.choices] == [0, 1]
    [event] = await events_for_trace(nats_server.url, trace_id)
    assert event.request.params.n == 2 and len(event.attempts[0].response.finish_reasons) == 2
    assert len(event.attempts[0].output_content) == 2


async def test_embeddings_pass_through_and_record_usage(gateway: GatewayServer, providers_url: str,
                                                        nats_server: NatsServer) -> None:
    traceparent, trace_id, _ = new_traceparent()
    # The SDK validates base64 vectors as float lists before decoding them, so strict mode would
    # reject any server's default (base64) embeddings answer.
    result = await client(gateway, strict=False).embeddings.create(model="text-embedding-3-small", input=["a b c", "d"],
                                                     extra_headers={"traceparent": traceparent})
    assert len(result.data) == 2 and len(result.data[0].embedding) == 1536
    [event] = await events_for_trace(nats_server.url, trace_id)
    attempt = event.attempts[0]
    assert event.request.operation == "embeddings" and attempt.response.embedding_dimensions == 1536
    assert event.request.params.encoding_formats == ["base64"]
    [entry] = await journal_for_trace(providers_url, trace_id)
    assert attempt.response.usage.input == entry["response"]["usage"]["input_tokens"] == result.usage.prompt_tokens


async def test_a_429_falls_back_to_the_next_target_and_the_request_succeeds(
        gateway: GatewayServer, providers_url: str, nats_server: NatsServer) -> None:
    """GW-02: each attempt is its own CLIENT span; the SERVER span stays successful."""
    traceparent, trace_id, _ = new_traceparent()
    completion = await client(gateway).chat.completions.create(
        model="flaky", messages=MESSAGES, extra_headers={"traceparent": traceparent})
    assert completion.choices[0].message.content
    [event] = await events_for_trace(nats_server.url, trace_id)
    first, second = event.attempts
    assert (first.target, first.http_status, first.error_type) == ("flaky-openai", 429, "rate_limit_exceeded")
    assert (second.target, second.http_status, second.error_type) == ("flaky-anthropic", 200, None)
    assert first.span_id != second.span_id and first.end_ns <= second.start_ns
    assert event.error_type is None and event.http.status_code == 200
    assert_matches_journal(event, await journal_for_trace(providers_url, trace_id))


async def test_a_bad_key_gets_401_and_still_yields_an_event(gateway: GatewayServer, nats_server: NatsServer) -> None:
    traceparent, trace_id, _ = new_traceparent()
    with pytest.raises(openai.AuthenticationError):
        await client(gateway, key="sk-wrong").chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, extra_headers={"traceparent": traceparent})
    [event] = await events_for_trace(nats_server.url, trace_id)
    assert event.http.status_code == 401 and event.attempts == []
    assert "sk-wrong" not in event.to_json().decode()


async def test_a_mid_stream_error_reaches_the_client_and_the_event(gateway: GatewayServer, nats_server: NatsServer) -> None:
    """SEM-18, OAI-07."""
    traceparent, trace_id, _ = new_traceparent()
    stream = await client(gateway).chat.completions.create(
        model="broken-stream", messages=MESSAGES, stream=True, extra_headers={"traceparent": traceparent})
    with pytest.raises(openai.APIError):
        async for _ in stream:
            pass
    [event] = await events_for_trace(nats_server.url, trace_id)
    assert event.attempts[0].error_type == "overloaded_error" and event.error_type == "overloaded_error"


async def test_a_key_with_exclude_on_gets_the_same_answer_and_a_clean_event(
        gateway: GatewayServer, nats_server: NatsServer) -> None:
    """RED-01, RED-02, RED-10 (per-key override)."""
    answers = []
    for key in (GATEWAY_KEY, REDACTED_KEY):
        traceparent, trace_id, _ = new_traceparent()
        completion = await client(gateway, key).chat.completions.create(
            model="claude-sonnet-4", messages=MESSAGES, seed=3, extra_headers={"traceparent": traceparent})
        answers.append(completion.choices[0].message.content)
        [event] = await events_for_trace(nats_server.url, trace_id)
    assert answers[0] == answers[1]
    raw = event.to_json().decode()
    assert event.excluded and event.request.content is None and event.attempts[0].output_content is None
    assert answers[1] not in raw and "say hello" not in raw and "be brief" not in raw
    assert event.attempts[0].response.usage.output and event.attempts[0].response.finish_reasons


async def test_a_request_without_traceparent_starts_a_trace_that_goes_upstream(
        gateway: GatewayServer, providers_url: str) -> None:
    """PROP-07."""
    await client(gateway).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    journal = await journal_for_trace(providers_url, "")
    assert journal and journal[-1]["headers"]["traceparent"].startswith("00-")


async def test_a_client_that_disconnects_mid_stream_still_yields_a_cancelled_event(
        gateway: GatewayServer, nats_server: NatsServer) -> None:
    """SEM-18: a client disconnect ends the stream with ``cancelled``; the event is still published."""
    traceparent, trace_id, _ = new_traceparent()
    body = {"model": "slow", "messages": MESSAGES, "stream": True}
    headers = {"Authorization": f"Bearer {GATEWAY_KEY}", "traceparent": traceparent}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{gateway.url}/v1/chat/completions", json=body, headers=headers) as resp:
            assert resp.status == 200
            await resp.content.readline()
    [event] = await events_for_trace(nats_server.url, trace_id)
    assert event.error_type == "cancelled" and event.attempts[0].error_type == "cancelled"
    assert event.attempts[0].end_ns <= event.end_ns


@pytest.mark.slow
async def test_requests_are_served_while_the_bus_is_down(providers_url: str, nats_server: NatsServer) -> None:
    """GW-08, ISO-04: no delay or failure from a dead bus; events are held and counted."""
    dead = NatsServer()
    dead.start()
    url = dead.url
    dead.close()
    server = GatewayServer(gateway_config(providers_url, url))
    await server.start()
    try:
        sdk = client(server)
        results = await asyncio.gather(*[sdk.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
                                         for _ in range(5)])
        assert all(r.choices[0].message.content for r in results)
        metrics = server.state.metrics
        await wait_until_async(lambda: metrics.registry.get_sample_value("testbed_gateway_event_queue_depth") >= 4,
                               10, what="events held in the queue")
        assert metrics.registry.get_sample_value("testbed_gateway_events_published_total") == 0
    finally:
        await server.stop()
    assert server.state.metrics.registry.get_sample_value(
        "testbed_gateway_events_dropped_total", {"reason": "shutdown"}) == 5
