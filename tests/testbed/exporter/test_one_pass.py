"""The exporter's one-pass accept path (``spans_from_json`` then ``check_spans``) against the
two-pass path it replaced (``TraceEvent.from_json``, ``map_event``, ``validate``,
``split_encodable``): on valid events, on damaged bus payloads and on unencodable records, both
give the same spans and the same drop count, or both refuse the message as malformed; and
``read_json`` reads every body as the standard library does, big integers included."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from testbed.exporter.encoder import check_spans, split_encodable, validate
from testbed.exporter.mapping import map_event, spans_from_json
from testbed.exporter.spans import SpanRecord
from testbed.trace_event import TraceEvent

from tests.testbed.exporter.events import event
from tests.testbed.exporter.test_properties import events, payloads
from tests.testbed.exporter.test_wire import records


def _two_pass(raw: bytes) -> tuple[Any, list[SpanRecord], int] | None:
    try:
        ev = TraceEvent.from_json(raw)
        spans = map_event(ev, "1.0")
        validate(spans)
    except Exception:
        return None
    kept, dropped = split_encodable(spans)
    return ev.event_id, kept, dropped


def _one_pass(raw: bytes) -> tuple[Any, list[SpanRecord], int] | None:
    try:
        event_id, spans = spans_from_json(raw, "1.0")
        kept, dropped = check_spans(spans)
    except Exception:
        return None
    return event_id, kept, dropped


@settings(max_examples=150, deadline=None)
@given(ev=events())
def test_valid_events_give_the_same_spans(ev: TraceEvent) -> None:
    raw = ev.to_json()
    got = _one_pass(raw)
    assert got is not None
    assert got == _two_pass(raw)
    assert got[1] == map_event(ev, "1.0")


@settings(max_examples=400, deadline=None)
@given(body=payloads())
def test_damaged_payloads_are_refused_or_mapped_alike(body: dict) -> None:  # type: ignore[type-arg]
    raw = json.dumps(body).encode()
    assert _one_pass(raw) == _two_pass(raw)


@pytest.mark.parametrize("path", [
    ("event_id",), ("resource",), ("trace",), ("http",), ("request",), ("attempts",), ("start_ns",),
    ("end_ns",), ("trace", "trace_id"), ("trace", "server_span_id"), ("http", "method"), ("http", "route"),
    ("http", "path"), ("request", "operation"), ("request", "requested_model"),
    *[("attempts", 0, name) for name in ("span_id", "provider", "target", "upstream_model", "server_address",
                                         "server_port", "start_ns", "end_ns")],
])
def test_a_missing_required_field_is_malformed(path: tuple[Any, ...]) -> None:
    body = json.loads(event().to_json())
    parent = body
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    raw = json.dumps(body).encode()
    assert _two_pass(raw) is None
    assert _one_pass(raw) is None


@pytest.mark.parametrize("path,value", [
    (("request", "params"), None), (("request", "params"), []), (("request", "content"), []),
    (("attempts", 0, "response"), None), (("attempts", 0, "response", "usage"), None), (("trace",), "x"),
    (("first_byte_ns",), "soon"), (("attempts",), 5), (("attempts",), None), (("schema",), "testbed.trace_event/2"),
])
def test_a_nested_value_of_the_wrong_shape_is_malformed(path: tuple[Any, ...], value: Any) -> None:
    body = json.loads(event().to_json())
    parent = body
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    raw = json.dumps(body).encode()
    assert _two_pass(raw) is None
    assert _one_pass(raw) is None


def _poisoned(record: SpanRecord, where: str) -> SpanRecord:
    if where == "name":
        return dataclasses.replace(record, name="a\ud800")
    if where == "key":
        return dataclasses.replace(record, attributes={**record.attributes, "k\udfff": 1})
    if where == "list":
        return dataclasses.replace(record, attributes={**record.attributes, "k": ["ok", "\ud800"]})
    if where == "resource":
        return dataclasses.replace(record, resource={**record.resource, "service.name": "\udc80"})
    return dataclasses.replace(record, attributes={**record.attributes, "v": "x\ud800y"})


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(records(), st.sampled_from(["", "name", "key", "list", "resource", "value"])),
                min_size=1, max_size=4))
def test_check_spans_keeps_and_drops_what_split_encodable_does(recs: list[tuple[SpanRecord, str]]) -> None:
    spans = [_poisoned(r, where) if where else r for r, where in recs]
    validate(spans)
    assert check_spans(spans) == split_encodable(spans)
    assert check_spans(spans)[1] == sum(1 for _, where in recs if where)


@pytest.mark.parametrize("change", [
    {"trace_id": "zz" * 16}, {"span_id": "12"}, {"parent_span_id": "x" * 16}, {"name": 5}, {"kind": -1},
    {"status_code": True}, {"start_ns": 2**64}, {"end_ns": None}, {"flags": "1"}, {"trace_state": 3},
    {"attributes": {"big": 2**63}}, {"attributes": {"obj": {"a": 1}}}, {"attributes": {"list": [None]}},
    {"resource": {"r": -(2**63) - 1}},
])
def test_check_spans_refuses_what_validate_refuses(change: dict[str, Any]) -> None:
    spans = map_event(event())
    bad = [spans[0], dataclasses.replace(spans[1], **change)]
    with pytest.raises(ValueError):
        validate(bad)
    with pytest.raises(ValueError):
        check_spans(bad)


exact_json = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(min_value=-(2**70), max_value=2**70) | st.sampled_from([2**64, 2**64 - 1, -(2**63), -(2**63) - 1])
    | st.text(max_size=8) | st.from_regex(r"[0-9]{18,22}", fullmatch=True),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(value=exact_json)
def test_read_json_reads_what_the_standard_library_reads(value: Any) -> None:
    from testbed.exporter.mapping import read_json

    for raw in (json.dumps(value).encode(), json.dumps(value, ensure_ascii=False).encode(), json.dumps(value)):
        assert repr(read_json(raw)) == repr(json.loads(raw))  # repr tells 1 from 1.0 and True


@pytest.mark.parametrize("raw", [
    b'{"n": 18446744073709551616}', b'[-9223372036854775809]', b'{"n": 123456789012345678901234567890}',
    b'["\\ud800"]', b'[NaN]', b'{"a": 1e400}', '{"s": "\\ud800"}'.encode(), b'{"a": 1, "a": 2}',
])
def test_read_json_keeps_the_standard_library_where_orjson_differs(raw: bytes) -> None:
    from testbed.exporter.mapping import read_json

    assert repr(read_json(raw)) == repr(json.loads(raw))
