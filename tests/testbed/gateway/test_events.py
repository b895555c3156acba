"""TraceEvent building (SPEC 3.2) and redaction at the source (SPEC 4): with Exclude Request Data on,
no prompt, completion, system instruction, tool argument, tool result, stop sequence or error
message is in the event JSON, while tokens, models, finish reasons and timings stay (RED-01/02/06);
keys and auth headers never appear (RED-08); oversize events are truncated with valid JSON (GW-09)."""

from __future__ import annotations

import json

import pytest

from testbed.gateway.config import TargetConfig
from testbed.gateway.content import StreamAccumulator
from testbed.gateway.events import AttemptRecord, RequestRecord, build_event, encode_within
from testbed.gateway.providers import adapter_for
from testbed.gateway.tracecontext import TraceDecision
from testbed.trace_event import TraceEvent, Usage

CANARIES = {
    "SYS": "CNRY-SYS-0123456789abcdef0123", "USR": "CNRY-USR-0123456789abcdef0123",
    "AST": "CNRY-AST-0123456789abcdef0123", "TDF": "CNRY-TDF-0123456789abcdef0123",
    "TCA": "CNRY-TCA-0123456789abcdef0123", "TCR": "CNRY-TCR-0123456789abcdef0123",
    "OUT": "CNRY-OUT-0123456789abcdef0123", "OTC": "CNRY-OTC-0123456789abcdef0123",
    "ERR": "CNRY-ERR-0123456789abcdef0123", "STOP": "CNRY-STP-0123456789abcdef0123",
}
UPSTREAM_KEY = "sk-CNRY-KEY-upstream-0123456789"
TARGET = TargetConfig(id="main", provider="anthropic", model="claude-up", base_url="http://fp:9000",
                      api_key=UPSTREAM_KEY)
BODY = {
    "model": "alias", "temperature": 0.3, "max_tokens": 20, "stop": [CANARIES["STOP"]], "seed": 4, "n": 1,
    "messages": [
        {"role": "system", "content": CANARIES["SYS"]},
        {"role": "user", "content": CANARIES["USR"]},
        {"role": "assistant", "content": CANARIES["AST"], "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "lookup", "arguments": json.dumps({"q": CANARIES["TCA"]})}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": CANARIES["TCR"]},
    ],
    "tools": [{"type": "function", "function": {"name": "lookup", "description": CANARIES["TDF"],
                                                "parameters": {"type": "object"}}}],
}


def record(exclude: bool) -> RequestRecord:
    failed = AttemptRecord(span_id="aa" * 8, target=TARGET, provider_name="anthropic", start_ns=110, end_ns=150,
                           http_status=529, error_type="overloaded_error", error_message=f"busy {CANARIES['ERR']}")
    ok = AttemptRecord(span_id="bb" * 8, target=TARGET, provider_name="anthropic", start_ns=160, end_ns=290,
                       first_chunk_ns=200, resend_count=1, http_status=200, response_id="msg_1",
                       response_model="claude-up-2025", finish_reasons=["tool_use"],
                       usage=Usage(input=15, output=7, cache_read=3, cache_creation=2),
                       choices=[{"index": 0, "finish_reason": "tool_calls", "message": {
                           "role": "assistant", "content": CANARIES["OUT"],
                           "tool_calls": [{"id": "toolu_1", "type": "function", "function": {
                               "name": "lookup", "arguments": json.dumps({"q": CANARIES["OTC"]})}}]}}])
    return RequestRecord(
        start_ns=100, end_ns=300, first_byte_ns=210,
        trace=TraceDecision("ab" * 16, "cd" * 8, 1, "vendor=x"), server_span_id="ef" * 8,
        method="POST", route="/v1/chat/completions", path="/v1/chat/completions", operation="chat",
        exclude=exclude, requested_model="alias", stream=True, body=BODY, correlation_id="corr-1",
        user_agent="OpenAI/Python", attempts=[failed, ok],
    )


def finish(provider_format: str, raw: str) -> str:
    return adapter_for(provider_format).semconv_finish_reason(raw)


def event(exclude: bool, capture: bool = True) -> TraceEvent:
    return build_event(record(exclude), {"service.name": "gw"}, event_id="e-1", capture_content=capture, finish=finish)


def test_with_exclude_on_no_content_canary_reaches_the_event() -> None:
    """RED-01, RED-04, RED-05, RED-06."""
    raw = event(exclude=True).to_json().decode()
    for slot, canary in CANARIES.items():
        assert canary not in raw, slot


def test_with_exclude_on_the_kept_fields_are_present() -> None:
    """RED-02."""
    ev = event(exclude=True)
    assert ev.excluded is True and ev.request.content is None
    ok = ev.attempts[1]
    assert ok.output_content is None and ev.attempts[0].error_message is None
    assert ev.attempts[0].error_type == "overloaded_error"
    assert (ok.response.id, ok.response.model, ok.response.finish_reasons) == ("msg_1", "claude-up-2025", ["tool_use"])
    assert (ok.response.usage.input, ok.response.usage.output) == (15, 7)
    assert ev.request.params.temperature == 0.3 and ev.request.params.stop is None
    assert (ok.first_chunk_ns, ok.start_ns, ok.end_ns) == (200, 160, 290)


def test_keys_never_enter_an_event_whatever_the_switch() -> None:
    """RED-08."""
    for exclude in (True, False):
        assert UPSTREAM_KEY not in event(exclude).to_json().decode()


def test_with_exclude_off_content_is_in_the_semconv_shapes() -> None:
    """RED-07 positive control; SEM-19 shapes, SEM-20 ``response``, SEM-21 finish mapping."""
    ev = event(exclude=False)
    content = ev.request.content
    assert content is not None
    assert content.system == [{"type": "text", "content": CANARIES["SYS"]}]
    assert [m["role"] for m in content.messages] == ["user", "assistant", "tool"]
    assert content.messages[1]["parts"][1] == {"type": "tool_call", "name": "lookup", "id": "call_1",
                                               "arguments": {"q": CANARIES["TCA"]}}
    assert content.messages[2]["parts"] == [{"type": "tool_call_response", "response": CANARIES["TCR"], "id": "call_1"}]
    assert content.tools == [{"type": "function", "name": "lookup", "description": CANARIES["TDF"],
                              "parameters": {"type": "object"}}]
    output = ev.attempts[1].output_content
    assert output == [{"role": "assistant", "finish_reason": "tool_call", "parts": [
        {"type": "text", "content": CANARIES["OUT"]},
        {"type": "tool_call", "name": "lookup", "id": "toolu_1", "arguments": {"q": CANARIES["OTC"]}}]}]
    assert ev.attempts[0].error_message.endswith(CANARIES["ERR"])
    assert ev.request.params.stop == [CANARIES["STOP"]]


def test_capture_off_drops_content_but_is_not_marked_excluded() -> None:
    ev = event(exclude=False, capture=False)
    assert ev.request.content is None and ev.attempts[1].output_content is None and ev.excluded is False


def test_the_event_carries_trace_http_and_attempt_facts() -> None:
    ev = TraceEvent.from_json(event(exclude=False).to_json())
    assert (ev.trace.trace_id, ev.trace.parent_span_id, ev.trace.server_span_id) == ("ab" * 16, "cd" * 8, "ef" * 8)
    assert ev.trace.tracestate == "vendor=x"
    assert [a.span_id for a in ev.attempts] == ["aa" * 8, "bb" * 8]
    assert ev.attempts[1].resend_count == 1 and ev.attempts[1].server_port == 9000
    assert ev.attempts[1].upstream_model == "claude-up" and ev.attempts[1].target == "main"
    assert ev.request.requested_model == "alias" and ev.request.stream is True and ev.correlation_id == "corr-1"
    assert (ev.start_ns, ev.first_byte_ns, ev.end_ns) == (100, 210, 300)


def test_an_openai_target_keeps_system_messages_in_the_input_messages() -> None:
    rec = record(exclude=False)
    rec.attempts = [AttemptRecord(span_id="aa" * 8, target=TargetConfig(id="o", provider="openai", model="m",
                                                                        base_url="http://h:1", api_key="k"),
                                  provider_name="openai", start_ns=1)]
    ev = build_event(rec, {}, event_id="e", capture_content=True, finish=finish)
    assert ev.request.content.system is None
    assert ev.request.content.messages[0] == {"role": "system", "parts": [{"type": "text", "content": CANARIES["SYS"]}]}


def test_an_oversize_event_has_its_content_shortened_and_stays_valid_json() -> None:
    """GW-09."""
    rec = record(exclude=False)
    rec.body = {**BODY, "messages": [{"role": "user", "content": "x" * 50_000}]}
    ev = build_event(rec, {}, event_id="e", capture_content=True, finish=finish)
    encoded = encode_within(ev, 6_000)
    assert encoded is not None
    raw, fitted = encoded
    assert len(raw) <= 6_000 and fitted.truncated is True
    parsed = TraceEvent.from_json(raw)
    assert parsed.truncated is True and parsed.attempts[1].response.usage.input == 15


def test_an_event_that_cannot_fit_is_refused() -> None:
    assert encode_within(event(exclude=True), 200) is None


@pytest.mark.parametrize("exclude", [True, False])
def test_small_events_are_sent_whole(exclude: bool) -> None:
    ev = event(exclude)
    raw, same = encode_within(ev, 1 << 20)
    assert same is ev and raw == ev.to_json()


def test_the_stream_accumulator_rebuilds_choices_from_chunks() -> None:
    acc = StreamAccumulator()
    for delta, finish_reason in [({"role": "assistant", "content": ""}, None), ({"content": "He"}, None),
                                 ({"tool_calls": [{"index": 0, "id": "c", "function": {"name": "f", "arguments": ""}}]}, None),
                                 ({"content": "y"}, None),
                                 ({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}, "tool_calls")]:
        acc.feed({"choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]})
    assert acc.choices() == [{"index": 0, "finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": "Hey",
        "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}}]
