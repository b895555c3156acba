"""The direct protobuf writer (``testbed.exporter.wire``) gives exactly the bytes the protobuf
runtime serialises for the same spans, over generated TraceEvents and over the edge values a
hand-written encoder gets wrong (negative and 64-bit ints, -0.0, empty strings and arrays, trace
flags, several resources and scopes); the attribute cache never hands one value's bytes to another.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from testbed.exporter.encoder import build_request
from testbed.exporter.mapping import map_event
from testbed.exporter.spans import Scope, SpanLink, SpanRecord
from testbed.exporter.wire import encode_request

from tests.testbed.exporter.test_properties import events


def _runtime(records: list[SpanRecord]) -> bytes:
    return build_request(records).SerializeToString()


@settings(max_examples=200, deadline=None)
@given(st.lists(events(), min_size=1, max_size=3))
def test_generated_events_encode_to_the_runtime_bytes(evs: list) -> None:
    records = [r for e in evs for r in map_event(e)]
    assert encode_request(records) == _runtime(records)


scalars = (st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1)
           | st.floats(allow_nan=False) | st.text(max_size=80))
attrs = st.dictionaries(st.text(min_size=1, max_size=8), scalars | st.lists(st.integers(-5, 5), min_size=1, max_size=3),
                        max_size=6)
hexid = st.binary(min_size=8, max_size=8).map(bytes.hex)


@st.composite
def records(draw: st.DrawFn) -> SpanRecord:
    return SpanRecord(
        trace_id=draw(hexid) + draw(hexid), span_id=draw(hexid), parent_span_id=draw(st.none() | hexid),
        name=draw(st.text(max_size=10)), kind=draw(st.integers(0, 5)),
        start_ns=draw(st.integers(0, 2**64 - 1)), end_ns=draw(st.integers(0, 2**64 - 1)),
        resource=draw(st.sampled_from([{"service.name": "a"}, {"service.name": "b", "x": 1}, {}])),
        scope=draw(st.sampled_from([Scope("s"), Scope("s", "1.0"), Scope("")])), attributes=draw(attrs),
        status_code=draw(st.integers(0, 2)), status_message=draw(st.text(max_size=5)),
        links=tuple(SpanLink(draw(hexid) + draw(hexid), draw(hexid), draw(st.none() | st.text(max_size=4)))
                    for _ in range(draw(st.integers(0, 2)))),
        trace_state=draw(st.none() | st.text(max_size=6)), flags=draw(st.none() | st.integers(0, 2**31)),
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(records(), min_size=1, max_size=5))
def test_edge_values_encode_to_the_runtime_bytes(recs: list[SpanRecord]) -> None:
    assert encode_request(recs) == _runtime(recs)


def test_cached_attributes_keep_bool_int_zero_and_negative_zero_apart() -> None:
    base = SpanRecord("0" * 31 + "1", "0" * 15 + "1", None, "n", 2, 1, 2, {}, Scope("s"))
    variants = [{"k": True}, {"k": 1}, {"k": 0.0}, {"k": -0.0}, {"k": False}, {"k": 0}, {"k": "1"}]
    for attributes in variants * 2:  # the second round is served from the cache
        record = SpanRecord(**{**{f: getattr(base, f) for f in base.__slots__}, "attributes": attributes})
        assert encode_request([record]) == _runtime([record])


def test_a_cached_attribute_keeps_its_own_tag_in_the_resource_and_in_the_span() -> None:
    # One key and value in both places: the cached bytes carry the tag, so the caches must differ.
    shared = {"service.name": "svc", "n": 3, "b": True}
    for _ in range(2):  # the second round is served from the cache
        record = SpanRecord("0" * 31 + "1", "0" * 15 + "1", None, "n", 2, 1, 2, dict(shared), Scope("s"),
                            attributes=dict(shared))
        assert encode_request([record]) == _runtime([record])
