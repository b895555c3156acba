"""Anthropic adapter (SPEC 9.2, 9.5): request translation, response and stream translation back to
the OpenAI format, finish reasons (9.5 and SEM-21), usage (SEM-09: input includes cache tokens),
and errors (529 -> 503 ``server_error``, error.type from the body per SEM-07)."""

from __future__ import annotations

import json

import pytest

from testbed.gateway.config import TargetConfig
from testbed.gateway.providers.anthropic import AnthropicAdapter
from testbed.gateway.providers.base import RequestNotSupported
from testbed.gateway.providers.sse import SseEvent

TARGET = TargetConfig(id="a", provider="anthropic", model="claude-up", base_url="http://h:1", api_key="sk-up")
ADAPTER = AnthropicAdapter()


def test_the_request_moves_system_out_and_tool_turns_into_blocks() -> None:
    body = {
        "model": "alias", "max_tokens": 50, "temperature": 0.2, "stop": "END",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get", "arguments": "{\"city\":\"Oslo\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ],
        "tools": [{"type": "function", "function": {"name": "get", "description": "d", "parameters": {"type": "object"}}}],
        "tool_choice": "required",
    }
    request = ADAPTER.chat_request(TARGET, body, stream=True)
    sent = json.loads(request.body)
    assert request.url == "http://h:1/v1/messages"
    assert request.headers["x-api-key"] == "sk-up" and request.headers["anthropic-version"] == "2023-06-01"
    assert "Authorization" not in request.headers
    assert sent["model"] == "claude-up" and sent["max_tokens"] == 50 and sent["stream"] is True
    assert sent["system"] == [{"type": "text", "text": "be brief"}]
    assert sent["stop_sequences"] == ["END"]
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]
    assert sent["messages"][1]["content"] == [{"type": "tool_use", "id": "call_1", "name": "get", "input": {"city": "Oslo"}}]
    assert sent["messages"][2]["content"] == [{"type": "tool_result", "tool_use_id": "call_1", "content": "sunny"}]
    assert sent["tools"] == [{"name": "get", "description": "d", "input_schema": {"type": "object"}}]
    assert sent["tool_choice"] == {"type": "any"}


def test_max_tokens_is_always_sent_and_n_above_one_is_refused() -> None:
    sent = json.loads(ADAPTER.chat_request(TARGET, {"messages": [{"role": "user", "content": "x"}]}, False).body)
    assert sent["max_tokens"] > 0
    with pytest.raises(RequestNotSupported):
        ADAPTER.chat_request(TARGET, {"n": 2, "messages": [{"role": "user", "content": "x"}]}, False)


def test_a_tool_use_response_becomes_tool_calls_with_mapped_usage() -> None:
    raw = json.dumps({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-up-2025",
        "content": [{"type": "text", "text": "checking"},
                    {"type": "tool_use", "id": "toolu_1", "name": "get", "input": {"city": "Oslo"}}],
        "stop_reason": "tool_use", "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 7, "cache_read_input_tokens": 3,
                  "cache_creation_input_tokens": 2},
    }).encode()
    result = ADAPTER.chat_response(raw, created=123)
    body = json.loads(result.body)
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] == "checking"
    assert choice["message"]["tool_calls"][0]["function"] == {"name": "get", "arguments": "{\"city\":\"Oslo\"}"}
    assert body["usage"]["prompt_tokens"] == 15 and body["usage"]["completion_tokens"] == 7
    assert body["usage"]["prompt_tokens_details"]["cached_tokens"] == 3
    assert (result.response_id, result.model, result.finish_reasons) == ("msg_1", "claude-up-2025", ["tool_use"])
    assert (result.usage.input, result.usage.output, result.usage.cache_read, result.usage.cache_creation) == (15, 7, 3, 2)


@pytest.mark.parametrize(("raw", "front", "semconv"), [
    ("end_turn", "stop", "stop"), ("stop_sequence", "stop", "stop"), ("pause_turn", "stop", "stop"),
    ("max_tokens", "length", "length"), ("model_context_window_exceeded", "length", "length"),
    ("tool_use", "tool_calls", "tool_call"), ("refusal", "content_filter", "content_filter"),
])
def test_finish_reasons_map_to_the_front_and_to_semconv(raw: str, front: str, semconv: str) -> None:
    body = {"id": "m", "model": "x", "content": [{"type": "text", "text": "t"}], "stop_reason": raw,
            "usage": {"input_tokens": 1, "output_tokens": 1}}
    result = ADAPTER.chat_response(json.dumps(body).encode(), 0)
    assert json.loads(result.body)["choices"][0]["finish_reason"] == front
    assert ADAPTER.semconv_finish_reason(raw) == semconv


def events(*frames: tuple[str, dict]) -> list[SseEvent]:
    return [SseEvent(name, json.dumps(data).encode()) for name, data in frames]


STREAM = events(
    ("message_start", {"type": "message_start", "message": {"id": "msg_9", "model": "claude-up-2025", "content": [],
                                                           "usage": {"input_tokens": 11, "output_tokens": 1,
                                                                     "cache_read_input_tokens": 4}}}),
    ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    ("ping", {"type": "ping"}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "lo"}}),
    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ("content_block_start", {"type": "content_block_start", "index": 1,
                             "content_block": {"type": "tool_use", "id": "toolu_2", "name": "get", "input": {}}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 1,
                             "delta": {"type": "input_json_delta", "partial_json": "{\"a\":"}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 1,
                             "delta": {"type": "input_json_delta", "partial_json": "1}"}}),
    ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 6}}),
    ("message_stop", {"type": "message_stop"}),
)


def run_stream(include_usage: bool, frames: list[SseEvent]) -> tuple[list[dict], object]:
    translator = ADAPTER.stream_translator(include_usage, created=5)
    chunks = [c for e in frames for c, _ in translator.feed(e)] + [c for c, _ in translator.close()]
    return chunks, translator.state


def test_a_stream_becomes_openai_chunks_with_cumulative_usage() -> None:
    chunks, state = run_stream(True, STREAM)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == "msg_9" for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "Hello"
    calls = [tc for c in chunks if c["choices"] for tc in c["choices"][0]["delta"].get("tool_calls", [])]
    assert calls[0]["id"] == "toolu_2" and calls[0]["function"]["name"] == "get"
    assert "".join(tc["function"]["arguments"] for tc in calls) == "{\"a\":1}"
    finish = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert finish == ["tool_calls"]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["prompt_tokens"] == 15
    assert chunks[-1]["usage"]["completion_tokens"] == 6
    assert state.usage.input == 15 and state.usage.output == 6 and state.finish_reasons == {0: "tool_use"}
    assert state.error is None and state.done


def test_the_usage_chunk_is_only_sent_when_the_client_asked() -> None:
    """SEM-15: usage is still recorded."""
    chunks, state = run_stream(False, STREAM)
    assert all(c["choices"] for c in chunks)
    assert "usage" not in chunks[0]
    assert state.usage.output == 6


def test_a_mid_stream_error_yields_an_openai_error_frame_and_its_type() -> None:
    """ANT-08 -> OAI-07, SEM-18."""
    frames = STREAM[:4] + events(("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))
    chunks, state = run_stream(True, frames)
    assert chunks[-1] == {"error": {"message": "Overloaded", "type": "server_error", "param": None, "code": None}}
    assert state.error.error_type == "overloaded_error"


def test_a_stream_cut_before_message_stop_is_an_error() -> None:
    chunks, state = run_stream(False, STREAM[:5])
    assert "error" in chunks[-1]
    assert state.error is not None and state.error.error_type == "_OTHER"


@pytest.mark.parametrize(("status", "kind", "shown"), [(529, "overloaded_error", 503), (429, "rate_limit_error", 429),
                                                       (400, "invalid_request_error", 400)])
def test_errors_keep_their_status_and_take_their_type_from_the_body(status: int, kind: str, shown: int) -> None:
    raw = json.dumps({"type": "error", "error": {"type": kind, "message": "nope"}}).encode()
    error = ADAPTER.error(status, raw)
    body = json.loads(error.body)["error"]
    assert (error.status, error.error_type, error.message) == (shown, kind, "nope")
    assert body["type"] == ("server_error" if shown >= 500 else body["type"])
    assert body["code"] == kind


def test_an_error_without_a_json_body_uses_the_status() -> None:
    assert ADAPTER.error(502, b"<html>").error_type == "502"
