"""OpenAI adapter (SPEC 9.1): pass-through with the upstream model, usage always asked upstream on
streams but forwarded only when the client asked (SEM-15), usage per SEM-09, raw finish reasons
(SEM-10), error types per SEM-07, and the incremental SSE decoder it relies on."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from testbed.gateway.config import TargetConfig
from testbed.gateway.providers.openai import OpenAIAdapter, embeddings_result
from testbed.gateway.providers.sse import SseDecoder, SseEvent

TARGET = TargetConfig(id="o", provider="openai", model="gpt-up", base_url="http://h:1/v1", api_key="sk-up")
ADAPTER = OpenAIAdapter()


def test_the_request_replaces_the_model_and_always_asks_for_stream_usage() -> None:
    body = {"model": "alias", "messages": [{"role": "user", "content": "x"}], "n": 2, "stream": True}
    request = ADAPTER.chat_request(TARGET, body, stream=True)
    sent = json.loads(request.body)
    assert request.url == "http://h:1/v1/chat/completions"
    assert request.headers["Authorization"] == "Bearer sk-up"
    assert sent["model"] == "gpt-up" and sent["n"] == 2
    assert sent["stream_options"] == {"include_usage": True}
    assert body["model"] == "alias" and "stream_options" not in body


def test_a_response_passes_through_byte_for_byte_with_its_facts_read() -> None:
    raw = json.dumps({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-up-2024",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "a"}, "finish_reason": "stop"},
                    {"index": 1, "message": {"role": "assistant", "content": "b"}, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9,
                  "prompt_tokens_details": {"cached_tokens": 2}, "completion_tokens_details": {"reasoning_tokens": 1}},
        "system_fingerprint": "fp_1", "service_tier": "default",
    }).encode()
    result = ADAPTER.chat_response(raw, 0)
    assert result.body == raw
    assert result.finish_reasons == ["stop", "length"]
    assert (result.usage.input, result.usage.output, result.usage.cache_read, result.usage.reasoning) == (5, 4, 2, 1)
    assert (result.response_id, result.model, result.system_fingerprint) == ("chatcmpl-1", "gpt-up-2024", "fp_1")


def chunk(choices: list, usage: dict | None = None) -> SseEvent:
    data = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-up-2024",
            "choices": choices, "usage": usage}
    return SseEvent(None, json.dumps(data).encode())


STREAM = [
    chunk([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]),
    chunk([{"index": 0, "delta": {"content": "Hi"}, "finish_reason": None}]),
    chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}]),
    chunk([], {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9}),
    SseEvent(None, b"[DONE]"),
]


def test_the_usage_only_chunk_is_dropped_unless_the_client_asked_but_usage_is_recorded() -> None:
    for include_usage in (False, True):
        translator = ADAPTER.stream_translator(include_usage, 0)
        out = [raw for e in STREAM for _, raw in translator.feed(e)] + [raw for _, raw in translator.close()]
        assert len(out) == (4 if include_usage else 3)
        assert out[:3] == [e.data for e in STREAM[:3]]
        assert translator.state.usage.input == 7 and translator.state.usage.output == 2
        assert translator.state.finish_reasons == {0: "stop"} and translator.state.done


def test_an_error_frame_is_forwarded_and_typed() -> None:
    translator = ADAPTER.stream_translator(False, 0)
    error = {"error": {"message": "boom", "type": "server_error", "param": None, "code": None}}
    out = translator.feed(STREAM[0]) + translator.feed(SseEvent(None, json.dumps(error).encode()))
    assert out[-1][0] == error
    assert translator.state.error.error_type == "server_error"
    assert translator.close() == []


def test_a_stream_without_done_is_reported_as_cut() -> None:
    translator = ADAPTER.stream_translator(False, 0)
    translator.feed(STREAM[1])
    assert "error" in translator.close()[0][0]


def test_error_type_prefers_code_then_type_then_status() -> None:
    rate = {"error": {"message": "slow down", "type": "requests", "param": None, "code": "rate_limit_exceeded"}}
    assert ADAPTER.error(429, json.dumps(rate).encode()).error_type == "rate_limit_exceeded"
    server = {"error": {"message": "x", "type": "server_error", "param": None, "code": None}}
    assert ADAPTER.error(500, json.dumps(server).encode()).error_type == "server_error"
    plain = ADAPTER.error(503, b"busy")
    assert plain.error_type == "503" and json.loads(plain.body)["error"]["type"] == "server_error"


def test_embeddings_dimensions_are_read_from_floats_or_base64() -> None:
    floats = json.dumps({"object": "list", "model": "e", "data": [{"embedding": [0.1, 0.2, 0.3]}],
                         "usage": {"prompt_tokens": 4, "total_tokens": 4}}).encode()
    assert embeddings_result(floats).dimensions == 3 and embeddings_result(floats).input_tokens == 4
    b64 = json.dumps({"object": "list", "model": "e", "data": [{"embedding": "AAAAAAAAAAA="}], "usage": {}}).encode()
    assert embeddings_result(b64).dimensions == 2


def test_the_sse_decoder_handles_names_comments_multiline_data_and_crlf() -> None:
    decoder = SseDecoder()
    lines = [b": keep-alive\n", b"event: message_start\r\n", b"data: {\"a\":\n", b"data: 1}\n", b"\n", b"data: x"]
    events = [e for line in lines if (e := decoder.feed_line(line)) is not None]
    assert events == [SseEvent("message_start", b"{\"a\":\n1}")]
    assert decoder.flush() == SseEvent(None, b"x")


@given(st.lists(st.binary(max_size=40), max_size=20))
def test_translators_never_raise_on_garbage_events(datas: list[bytes]) -> None:
    from testbed.gateway.providers import ADAPTERS

    for adapter in ADAPTERS.values():
        translator = adapter.stream_translator(True, 0)
        for data in datas:
            translator.feed(SseEvent("message_delta", data))
        translator.close()


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(["choices", "delta", "index", "message", "usage", "content", "candidates", "error",
                         "content_block", "type", "finish_reason", "tool_calls", "function", "parts", "text",
                         "functionCall", "stop_reason", "usageMetadata", "input_tokens"]), children, max_size=4),
    max_leaves=12,
)
EVENT_NAMES = st.sampled_from([None, "message_start", "content_block_start", "content_block_delta",
                               "message_delta", "message_stop", "error"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(EVENT_NAMES, JSON_VALUES), max_size=8))
def test_translators_never_raise_on_malformed_json_events(frames: list) -> None:
    from testbed.gateway.providers import ADAPTERS

    for adapter in ADAPTERS.values():
        translator = adapter.stream_translator(True, 0)
        for name, value in frames:
            translator.feed(SseEvent(name, json.dumps(value).encode()))
        translator.close()


@settings(max_examples=60, deadline=None)
@given(JSON_VALUES)
def test_adapters_turn_malformed_bodies_into_value_errors_or_results(value: object) -> None:
    from testbed.gateway.providers import ADAPTERS

    for adapter in ADAPTERS.values():
        raw = json.dumps(value).encode()
        adapter.error(500, raw)
        try:
            adapter.chat_response(raw, 0)
        except ValueError:
            pass
