"""Gemini adapter (SPEC 9.3, 9.5): request translation (system, roles, tools, generationConfig),
response and ``alt=sse`` stream translation, finish reasons (9.5, SEM-21), usage (SEM-09:
completion includes thoughts) and errors (error.type = the body's ``status``, SEM-07)."""

from __future__ import annotations

import json

import pytest

from testbed.gateway.config import TargetConfig
from testbed.gateway.providers.gemini import GeminiAdapter
from testbed.gateway.providers.sse import SseEvent

TARGET = TargetConfig(id="g", provider="gemini", model="gemini-up", base_url="http://h:1", api_key="g-key")
ADAPTER = GeminiAdapter()


def test_the_request_uses_contents_system_instruction_and_generation_config() -> None:
    body = {
        "model": "alias", "n": 2, "max_tokens": 40, "temperature": 0.5, "top_p": 0.9, "stop": ["X"],
        "response_format": {"type": "json_object"},
        "messages": [
            {"role": "developer", "content": "rules"},
            {"role": "user", "content": [{"type": "text", "text": "hi"}]},
            {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                                                  "function": {"name": "f", "arguments": "{\"x\":1}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "{\"ok\":true}"},
        ],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    }
    request = ADAPTER.chat_request(TARGET, body, stream=False)
    sent = json.loads(request.body)
    assert request.url == "http://h:1/v1beta/models/gemini-up:generateContent"
    assert request.headers["x-goog-api-key"] == "g-key" and "key=" not in request.url
    assert sent["systemInstruction"] == {"parts": [{"text": "rules"}]}
    assert [c["role"] for c in sent["contents"]] == ["user", "model", "user"]
    assert sent["contents"][1]["parts"] == [{"functionCall": {"name": "f", "args": {"x": 1}}}]
    assert sent["contents"][2]["parts"] == [{"functionResponse": {"name": "f", "response": {"ok": True}}}]
    assert sent["generationConfig"] == {"temperature": 0.5, "topP": 0.9, "maxOutputTokens": 40, "stopSequences": ["X"],
                                        "candidateCount": 2, "responseMimeType": "application/json"}
    assert sent["tools"] == [{"functionDeclarations": [{"name": "f", "parameters": {"type": "object"}}]}]


def test_a_streamed_request_asks_for_sse() -> None:
    request = ADAPTER.chat_request(TARGET, {"messages": [{"role": "user", "content": "x"}]}, stream=True)
    assert request.url.endswith(":streamGenerateContent?alt=sse")


def test_candidates_become_choices_with_usage_including_thoughts() -> None:
    raw = json.dumps({
        "candidates": [
            {"index": 0, "content": {"role": "model", "parts": [{"text": "a"}, {"text": "b"}]}, "finishReason": "STOP"},
            {"index": 1, "content": {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {"q": 1}}}]},
             "finishReason": "STOP"},
        ],
        "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 4, "thoughtsTokenCount": 2,
                          "cachedContentTokenCount": 1, "totalTokenCount": 15},
        "modelVersion": "gemini-up-001", "responseId": "resp-1",
    }).encode()
    result = ADAPTER.chat_response(raw, 7)
    body = json.loads(result.body)
    assert [c["finish_reason"] for c in body["choices"]] == ["stop", "tool_calls"]
    assert body["choices"][0]["message"]["content"] == "ab"
    assert body["choices"][1]["message"]["tool_calls"][0]["function"] == {"name": "f", "arguments": "{\"q\":1}"}
    assert body["usage"]["prompt_tokens"] == 9 and body["usage"]["completion_tokens"] == 6
    assert (result.usage.input, result.usage.output, result.usage.reasoning, result.usage.cache_read) == (9, 6, 2, 1)
    assert (result.response_id, result.model, result.finish_reasons) == ("resp-1", "gemini-up-001", ["STOP", "STOP"])


@pytest.mark.parametrize(("raw", "front", "semconv"), [
    ("STOP", "stop", "stop"), ("MAX_TOKENS", "length", "length"), ("SAFETY", "content_filter", "content_filter"),
    ("RECITATION", "content_filter", "content_filter"), ("SPII", "content_filter", "content_filter"),
    ("MALFORMED_FUNCTION_CALL", "stop", "error"), ("OTHER", "stop", "error"),
])
def test_finish_reasons_map_to_the_front_and_to_semconv(raw: str, front: str, semconv: str) -> None:
    body = {"candidates": [{"content": {"parts": [{"text": "t"}]}, "finishReason": raw}]}
    assert json.loads(ADAPTER.chat_response(json.dumps(body).encode(), 0).body)["choices"][0]["finish_reason"] == front
    assert ADAPTER.semconv_finish_reason(raw) == semconv


def frame(data: dict) -> SseEvent:
    return SseEvent(None, json.dumps(data).encode())


def test_sse_frames_become_chunks_and_the_last_frame_brings_usage() -> None:
    translator = ADAPTER.stream_translator(True, created=1)
    frames = [
        frame({"candidates": [{"index": 0, "content": {"role": "model", "parts": [{"text": "Hel"}]}}],
               "modelVersion": "gemini-up-001", "responseId": "r1"}),
        frame({"candidates": [{"index": 0, "content": {"role": "model", "parts": [{"text": "lo"}]},
                               "finishReason": "MAX_TOKENS"}],
               "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2}}),
    ]
    chunks = [c for f in frames for c, _ in translator.feed(f)] + [c for c, _ in translator.close()]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"]) == "Hello"
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]] == ["length"]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 2
    assert all(c["id"] == "r1" for c in chunks[1:])
    assert translator.state.finish_reasons == {0: "MAX_TOKENS"} and translator.state.error is None


def test_a_stream_that_ends_without_a_finish_reason_is_cut() -> None:
    translator = ADAPTER.stream_translator(False, created=1)
    translator.feed(frame({"candidates": [{"index": 0, "content": {"parts": [{"text": "x"}]}}]}))
    tail = translator.close()
    assert "error" in tail[-1][0] and translator.state.error.error_type == "_OTHER"


def test_errors_take_their_type_from_the_status_field() -> None:
    raw = json.dumps({"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}).encode()
    error = ADAPTER.error(429, raw)
    assert (error.status, error.error_type, error.message) == (429, "RESOURCE_EXHAUSTED", "quota")
    assert json.loads(error.body)["error"]["code"] == "RESOURCE_EXHAUSTED"
