"""The whole trace flow, end to end with the official openai SDK as the client: each request
becomes one SERVER span and one CLIENT span per upstream attempt at the ingest, with the GenAI
attributes (SPEC sections 2-3) equal to what the fake provider really answered (SEM-09/10/11),
the caller's trace continued (PROP-01/02) and the upstream traceparent pointing at the attempt's
CLIENT span (PROP-03, GW-04)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.helpers import StackClient, attr, new_traceparent

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SERVER, CLIENT = 2, 3
MODELS = {
    # requested model: (provider name, journal provider)
    "gpt-4o-mini": ("openai", "openai"),
    "claude-sonnet-4": ("anthropic", "anthropic"),
    "gemini-2.0-flash": ("gcp.gemini", "gemini"),
}
TOOLS = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}]


def expected_usage(provider: str, usage: dict[str, Any]) -> tuple[int, int]:
    """SEM-09: input and output tokens as the span must report them, from the provider's own usage."""
    if provider == "openai":
        return usage["prompt_tokens"], usage["completion_tokens"]
    if provider == "anthropic":
        inp = usage["input_tokens"] + usage.get("cache_read_input_tokens", 0) + usage.get("cache_creation_input_tokens", 0)
        return inp, usage["output_tokens"]
    return usage["promptTokenCount"], usage["candidatesTokenCount"] + usage.get("thoughtsTokenCount", 0)


def call(client: StackClient, model: str, stream: bool, **kwargs: Any) -> tuple[str, str, str]:
    """One chat call with a fresh traceparent; returns (trace id, parent id, text or tool name)."""
    traceparent, trace_id, parent_id = new_traceparent()
    sdk = client.openai(default_headers={"traceparent": traceparent, "x-testbed-correlation-id": f"c-{trace_id[:8]}"})
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    if stream:
        chunks = list(sdk.chat.completions.create(
            model=model, messages=messages, stream=True, stream_options={"include_usage": True}, **kwargs
        ))
        assert chunks[-1].usage is not None and chunks[-1].choices == []
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        tool = next((tc.function.name for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or []) if tc.function and tc.function.name), "")
        return trace_id, parent_id, tool or text
    response = sdk.chat.completions.create(model=model, messages=messages, **kwargs)
    message = response.choices[0].message
    return trace_id, parent_id, message.tool_calls[0].function.name if message.tool_calls else (message.content or "")


def check_client_span(span: dict[str, Any], entry: dict[str, Any], provider: str, journal_provider: str, stream: bool) -> None:
    response = entry["response"]
    assert span["kind"] == CLIENT
    assert attr(span, "gen_ai.operation.name") == "chat"
    assert attr(span, "gen_ai.provider.name") == provider
    assert attr(span, "gen_ai.request.model") == entry["model"]
    assert span["name"] == f"chat {entry['model']}"
    assert attr(span, "gen_ai.response.id") == response["id"]
    assert attr(span, "gen_ai.response.model") == response["model"]
    assert attr(span, "gen_ai.response.finish_reasons") == response["finish_reasons"]
    inp, out = expected_usage(journal_provider, response["usage_raw"])
    assert (attr(span, "gen_ai.usage.input_tokens"), attr(span, "gen_ai.usage.output_tokens")) == (inp, out)
    assert span["attributes"]["gen_ai.usage.input_tokens"]["type"] == "int"
    assert attr(span, "server.port") == int(entry["headers"]["host"].rsplit(":", 1)[1])
    if stream:
        assert attr(span, "gen_ai.request.stream") is True
        ttfc = attr(span, "gen_ai.response.time_to_first_chunk")
        assert 0 < ttfc <= (span["end_ns"] - span["start_ns"]) / 1e9
    else:
        assert attr(span, "gen_ai.request.stream") is None
    assert span["status"]["code"] == 0


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("model", list(MODELS))
def test_chat_becomes_a_server_and_a_client_span_matching_the_provider(client: StackClient, model: str, stream: bool) -> None:
    provider, journal_provider = MODELS[model]
    trace_id, parent_id, text = call(client, model, stream)
    assert text
    spans = client.trace(trace_id, count=2)
    assert len(spans) == 2
    server = next(s for s in spans if s["kind"] == SERVER)
    span = next(s for s in spans if s["kind"] == CLIENT)
    assert server["parent_span_id"] == parent_id  # PROP-02: the caller's span is the remote parent
    assert server["name"] == "POST /v1/chat/completions"
    assert attr(server, "gw.requested_model") == model
    assert attr(server, "gw.correlation_id") == f"c-{trace_id[:8]}"
    assert not any(k.startswith("gen_ai.") for k in server["attributes"])  # GW-01
    assert span["parent_span_id"] == server["span_id"]
    (entry,) = client.journal_for_trace(trace_id)
    assert entry["provider"] == journal_provider
    assert entry["headers"]["traceparent"].split("-")[2] == span["span_id"]  # PROP-03
    check_client_span(span, entry, provider, journal_provider, stream)
    assert server["start_ns"] <= span["start_ns"] and span["end_ns"] <= server["end_ns"]  # GW-03


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("model", list(MODELS))
def test_tool_calls_are_traced_with_their_finish_reason(client: StackClient, model: str, stream: bool) -> None:
    provider, journal_provider = MODELS[model]
    trace_id, _, tool = call(client, model, stream, tools=TOOLS)
    assert tool == "get_weather"
    spans = client.trace(trace_id, count=2)
    span = next(s for s in spans if s["kind"] == CLIENT)
    (entry,) = client.journal_for_trace(trace_id)
    check_client_span(span, entry, provider, journal_provider, stream)
    assert attr(span, "gen_ai.response.finish_reasons") in (["tool_calls"], ["tool_use"], ["STOP"])


def test_fallback_after_a_429_gives_one_client_span_per_attempt(client: StackClient) -> None:
    client.behaviours([{"model": "gpt-4o-mini", "status": 429, "times": 1, "retry_after_ms": 1}])
    trace_id, _, text = call(client, "fast", stream=False)
    assert text
    spans = client.trace(trace_id, count=3)
    server = next(s for s in spans if s["kind"] == SERVER)
    attempts = sorted((s for s in spans if s["kind"] == CLIENT), key=lambda s: attr(s, "gw.attempt"))
    assert [attr(s, "gen_ai.provider.name") for s in attempts] == ["openai", "anthropic"]
    failed, succeeded = attempts
    assert failed["status"]["code"] == 2 and attr(failed, "error.type")
    assert attr(failed, "http.response.status_code") == 429
    assert succeeded["status"]["code"] == 0 and attr(succeeded, "error.type") is None
    assert server["status"]["code"] == 0  # GW-02: a handled failure is not the request's failure
    assert attr(server, "gw.attempt_count") == 2
    entries = client.journal_for_trace(trace_id, count=2)
    parents = sorted(e["headers"]["traceparent"].split("-")[2] for e in entries)
    assert parents == sorted(s["span_id"] for s in attempts)  # GW-04: no hidden retry, no phantom


def test_a_request_without_traceparent_starts_a_new_trace_and_still_propagates(client: StackClient) -> None:
    sdk = client.openai()
    sdk.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    (entry,) = client.wait_journal(1)
    _, trace_id, span_id, _ = entry["headers"]["traceparent"].split("-")
    spans = client.trace(trace_id, count=2)
    server = next(s for s in spans if s["kind"] == SERVER)
    assert server["parent_span_id"] in ("", None)  # PROP-07
    assert next(s for s in spans if s["kind"] == CLIENT)["span_id"] == span_id


def test_embeddings_become_an_embeddings_span(client: StackClient) -> None:
    traceparent, trace_id, _ = new_traceparent()
    sdk = client.openai(default_headers={"traceparent": traceparent})
    result = sdk.embeddings.create(model="text-embedding-3-small", input=["one", "two"])
    assert len(result.data) == 2
    spans = client.trace(trace_id, count=2)
    span = next(s for s in spans if s["kind"] == CLIENT)
    assert attr(span, "gen_ai.operation.name") == "embeddings"
    assert span["name"] == "embeddings text-embedding-3-small"
    assert attr(span, "gen_ai.usage.input_tokens") == result.usage.prompt_tokens
