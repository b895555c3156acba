"""Properties over generated TraceEvents: mapping -> protobuf encoding -> decoding keeps one SERVER
span plus one CLIENT span per attempt with the right parents; an excluded event never carries content
(RED-06); and bus payloads (valid events with values replaced or removed at any depth) either map
or raise an ordinary exception (validation at accept time catches what encoding would refuse, so
one bad message is terminated as ``malformed`` instead of failing the batch it would join)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from hypothesis import find, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from testbed.exporter.encoder import encode_json, encode_protobuf, validate
from testbed.exporter.mapping import map_event
from testbed.exporter.redact import is_content
from testbed.trace_event import SCHEMA, RequestInfo, RequestParams, TraceEvent, Usage, ResponseInfo

from tests.testbed.exporter.events import attempt, content, event

hex16 = st.binary(min_size=8, max_size=8).map(bytes.hex)
maybe_int = st.none() | st.integers(min_value=0, max_value=10**9)
maybe_float = st.none() | st.floats(min_value=0, max_value=2, allow_nan=False)


@st.composite
def events(draw: st.DrawFn) -> TraceEvent:
    n = draw(st.integers(min_value=0, max_value=4))
    attempts = [
        attempt(
            i, span_id=draw(hex16), provider=draw(st.sampled_from(["openai", "anthropic", "gcp.gemini"])),
            http_status=draw(st.sampled_from([200, 429, 500, 503, None])),
            error_type=draw(st.none() | st.sampled_from(["timeout", "overloaded_error"])),
            error_message=draw(st.none() | st.text(max_size=20)),
            resend_count=draw(st.integers(min_value=0, max_value=3)),
            response=ResponseInfo(id=draw(st.none() | st.text(max_size=8)), finish_reasons=draw(
                st.none() | st.lists(st.sampled_from(["stop", "length", "tool_calls"]), max_size=3)),
                usage=Usage(input=draw(maybe_int), output=draw(maybe_int), cache_read=draw(maybe_int))),
        )
        for i in range(n)
    ]
    request = RequestInfo(
        operation=draw(st.sampled_from(["chat", "embeddings", "generate_content"])),
        requested_model=draw(st.none() | st.text(max_size=10)),
        stream=draw(st.booleans()),
        params=RequestParams(temperature=draw(maybe_float), top_k=draw(maybe_float), seed=draw(maybe_int),
                             n=draw(st.none() | st.integers(min_value=1, max_value=4)),
                             stop=draw(st.none() | st.lists(st.text(max_size=5), max_size=2))),
        content=content(),
    )
    return event(attempts=attempts, request=request, excluded=draw(st.booleans()))


@settings(max_examples=120, deadline=None)
@given(ev=events())
def test_mapping_and_encoding_keep_the_span_tree(ev: TraceEvent) -> None:
    spans = map_event(ev)
    decoded = ExportTraceServiceRequest.FromString(encode_protobuf(spans))
    got = [s for rs in decoded.resource_spans for ss in rs.scope_spans for s in ss.spans]
    assert len(got) == 1 + len(ev.attempts)
    server, clients = got[0], got[1:]
    assert server.kind == 2 and all(c.kind == 3 for c in clients)
    assert all(c.parent_span_id == server.span_id for c in clients)
    assert [c.span_id.hex() for c in clients] == [a.span_id for a in ev.attempts]
    assert not [kv.key for kv in server.attributes if kv.key.startswith("gen_ai.")]
    if ev.excluded:
        for span in got:
            assert not [kv.key for kv in span.attributes if is_content(kv.key)]
            assert span.status.message == ""


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)


def _paths(obj: object, prefix: tuple = ()) -> Iterator[tuple]:  # type: ignore[type-arg]
    yield prefix
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for k, v in items:
        yield from _paths(v, (*prefix, k))


@st.composite
def payloads(draw: st.DrawFn) -> dict:  # type: ignore[type-arg]
    """A valid event's JSON with up to three values replaced by arbitrary JSON or removed, at any
    depth: random keys alone would never spell ``server_span_id`` and so never reach the encoder."""
    body = json.loads(draw(events()).to_json())
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        path = draw(st.sampled_from([p for p in _paths(body) if p]))
        parent = body
        for k in path[:-1]:
            parent = parent[k]
        if draw(st.booleans()) or not isinstance(parent, dict):
            parent[path[-1]] = draw(json_values)
        else:
            del parent[path[-1]]
    return body


def _validates(body: dict) -> bool:  # type: ignore[type-arg]
    try:
        validate(map_event(TraceEvent.from_json(json.dumps(body).encode())))
    except Exception:
        return False
    return True


@settings(max_examples=200, deadline=None)
@given(body=payloads())
def test_a_bus_payload_that_passes_validation_always_encodes(body: dict) -> None:  # type: ignore[type-arg]
    raw = json.dumps(body).encode()
    try:
        spans = map_event(TraceEvent.from_json(raw))
        validate(spans)
    except Exception:
        return  # the service terminates it and counts it as malformed
    encode_protobuf(spans)
    encode_json(spans)


def test_the_payload_generator_reaches_the_encoder_and_the_refusal_path() -> None:
    """The property above can only fail if some payloads pass validation and some do not."""
    quick = settings(max_examples=500, database=None)
    assert _validates(find(payloads(), lambda b: _validates(b) and len(b.get("attempts") or []) > 0, settings=quick))
    assert not _validates(find(payloads(), lambda b: not _validates(b), settings=quick))


@settings(max_examples=60, deadline=None)
@given(ev=events(), span_id=st.text(max_size=20))
def test_an_event_with_a_bad_span_id_fails_validation_not_encoding(ev: TraceEvent, span_id: str) -> None:
    import dataclasses

    bad = dataclasses.replace(ev, trace=dataclasses.replace(ev.trace, server_span_id=span_id))
    spans = map_event(bad)
    try:
        validate(spans)
    except ValueError:
        return
    encode_protobuf(spans)
