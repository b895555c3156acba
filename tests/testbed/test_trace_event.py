"""TraceEvent v1 (SPEC 3.2): the JSON wire form round-trips and writes times as decimal strings."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from testbed.trace_event import (
    SCHEMA,
    Attempt,
    HttpInfo,
    RequestContent,
    RequestInfo,
    ResponseInfo,
    TraceContext,
    TraceEvent,
    Usage,
    valid_text,
)


def make_event(**overrides: object) -> TraceEvent:
    base = dict(
        event_id="7f1c0e7e-5d0c-4c39-9a51-7d1b0c1e2f3a",
        resource={"service.name": "gw", "service.instance.id": "i-1"},
        trace=TraceContext(trace_id="ab" * 16, server_span_id="cd" * 8, parent_span_id="ef" * 8),
        http=HttpInfo(method="POST", route="/v1/chat/completions", path="/v1/chat/completions"),
        request=RequestInfo(
            operation="chat",
            requested_model="fast",
            content=RequestContent(messages=[{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]),
        ),
        attempts=[
            Attempt(
                span_id="12" * 8,
                provider="openai",
                target="openai-main",
                upstream_model="gpt-4o-mini",
                server_address="127.0.0.1",
                server_port=9000,
                start_ns=1_700_000_000_000_000_001,
                end_ns=1_700_000_000_100_000_001,
                response=ResponseInfo(id="chatcmpl-1", finish_reasons=["stop"], usage=Usage(input=3, output=5)),
            )
        ],
        start_ns=1_700_000_000_000_000_000,
        end_ns=1_700_000_000_200_000_000,
    )
    base.update(overrides)
    return TraceEvent(**base)  # type: ignore[arg-type]


def test_event_round_trips_through_json() -> None:
    event = make_event()
    assert TraceEvent.from_json(event.to_json()) == event


def test_nanosecond_times_are_written_as_decimal_strings() -> None:
    wire = json.loads(make_event().to_json())
    assert wire["schema"] == SCHEMA
    assert wire["start_ns"] == "1700000000000000000"
    assert wire["attempts"][0]["end_ns"] == "1700000000100000001"
    assert wire["attempts"][0]["first_chunk_ns"] is None


def test_excluded_event_keeps_content_null() -> None:
    event = make_event(request=RequestInfo(operation="chat", requested_model="m", content=None), excluded=True)
    wire = json.loads(event.to_json())
    assert wire["request"]["content"] is None
    assert TraceEvent.from_json(event.to_json()).request.content is None


@pytest.mark.parametrize("raw", [b"[]", b'{"schema": "other/1"}', b"not json"])
def test_other_schemas_and_garbage_are_refused(raw: bytes) -> None:
    with pytest.raises(ValueError):
        TraceEvent.from_json(raw)


@settings(max_examples=300, deadline=None)
@given(text=st.text(), big=st.integers(min_value=-(2**70), max_value=2**70))
def test_the_fast_encoder_writes_what_the_standard_library_would(text: str, big: int) -> None:
    """GW-08: the gateway encodes with orjson where it can; the bytes are the standard library's
    for any text it can encode, repaired text where it cannot (a lone surrogate), and an event the
    fast path refuses (an integer beyond 64 bits in a message) still encodes. Either way the
    exporter reads back what was written."""
    messages = [{"role": "user", "parts": [{"type": "text", "content": text}], "n": big}]
    event = make_event(request=RequestInfo(operation="chat", requested_model=text,
                                           content=RequestContent(messages=messages)))
    wire = event.to_json()
    try:
        expected = event.json_text().encode()
    except UnicodeEncodeError:
        expected = None
    if expected is not None:
        assert wire == expected
        assert TraceEvent.from_json(wire) == event
    else:
        assert json.loads(wire)["request"]["requested_model"] == valid_text(text)
    assert TraceEvent.from_json(wire).request.content is not None


def test_an_event_with_a_lone_surrogate_escape_is_still_read() -> None:
    """A lone surrogate escape (which orjson would refuse) is parsed; the exporter then drops what
    it cannot encode (LOSS-01)."""
    raw = make_event().to_json().replace(b'"content":"hi"', b'"content":"\\ud800"')
    assert TraceEvent.from_json(raw).request.content.messages[0]["parts"][0]["content"] == "\ud800"
