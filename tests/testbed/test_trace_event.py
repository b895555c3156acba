"""TraceEvent v1 (SPEC 3.2): the JSON wire form round-trips and writes times as decimal strings."""

from __future__ import annotations

import json

import pytest

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
