"""Hypothesis: random bytes and random protobuf export requests never crash the ingest and never
get a 5xx (no fault active); JSON encoding round-trips; the span store matches a dict model
(LOSS-03 duplicate keys) under any sequence of inserts, resets and queries."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from fake_middleware import Settings, SpanQuery, SpanStore, ThreadedMiddleware
from fake_middleware.model import RequestRecord
from fake_middleware.otlp import extract_spans
from fake_middleware.otlp_json import parse_json, to_otlp_json
from tests.fake_middleware.helpers import JSON, KEY, PB, gz

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedMiddleware]:
    with ThreadedMiddleware(Settings(keys={"default": KEY}, max_request_bytes=256 * 1024)) as mw:
        yield mw


def post(url: str, body: bytes, content_type: str, encoding: str | None = None) -> int:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    hdrs = {"Content-Type": content_type, "Authorization": KEY}
    if encoding:
        hdrs["Content-Encoding"] = encoding
    try:
        conn.request("POST", "/v1/traces", body=body, headers=hdrs)
        return conn.getresponse().status
    finally:
        conn.close()


any_values = st.recursive(
    st.one_of(st.builds(AnyValue, string_value=st.text(max_size=20)), st.builds(AnyValue, bool_value=st.booleans()),
              st.builds(AnyValue, int_value=st.integers(-(2**63), 2**63 - 1)),
              st.builds(AnyValue, double_value=st.floats(allow_nan=True)),
              st.builds(AnyValue, bytes_value=st.binary(max_size=16)), st.just(AnyValue())),
    lambda children: st.one_of(
        st.lists(children, max_size=3).map(lambda vs: _array(vs)),
        st.lists(st.tuples(st.text(max_size=5), children), max_size=3).map(lambda kv: _kvlist(kv))),
    max_leaves=8)


def _array(values: list[AnyValue]) -> AnyValue:
    out = AnyValue()
    out.array_value.values.extend(values)
    return out


def _kvlist(items: list[tuple[str, AnyValue]]) -> AnyValue:
    out = AnyValue()
    out.kvlist_value.values.extend(KeyValue(key=k, value=v) for k, v in items)
    return out


spans = st.builds(
    Span, trace_id=st.binary(max_size=17), span_id=st.binary(max_size=9), parent_span_id=st.binary(max_size=9),
    name=st.text(max_size=20), kind=st.integers(0, 7), start_time_unix_nano=st.integers(0, 2**64 - 1),
    end_time_unix_nano=st.integers(0, 2**64 - 1),
    status=st.builds(Status, code=st.integers(0, 3), message=st.text(max_size=10)),
    attributes=st.lists(st.builds(KeyValue, key=st.text(max_size=10), value=any_values), max_size=4))


@st.composite
def export_requests(draw: st.DrawFn) -> ExportTraceServiceRequest:
    req = ExportTraceServiceRequest()
    for _ in range(draw(st.integers(0, 2))):
        rs = req.resource_spans.add()
        rs.resource.attributes.extend(draw(st.lists(st.builds(KeyValue, key=st.text(max_size=8), value=any_values),
                                                    max_size=3)))
        for _ in range(draw(st.integers(0, 2))):
            ss = rs.scope_spans.add()
            ss.scope.name = draw(st.text(max_size=8))
            ss.spans.extend(draw(st.lists(spans, max_size=4)))
    return req


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=2048), content_type=st.sampled_from([PB, JSON]), gzip_it=st.booleans())
def test_random_bytes_never_give_a_5xx(server: ThreadedMiddleware, body: bytes, content_type: str, gzip_it: bool) -> None:
    status = post(server.url, gz(body) if gzip_it else body, content_type, "gzip" if gzip_it else None)
    assert status in (200, 400)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(req=export_requests(), as_json=st.booleans())
def test_random_export_requests_are_accepted(server: ThreadedMiddleware, req: ExportTraceServiceRequest,
                                             as_json: bool) -> None:
    body = json.dumps(to_otlp_json(req)).encode() if as_json else req.SerializeToString()
    assert post(server.url, body, JSON if as_json else PB) == 200


@settings(max_examples=80, deadline=None)
@given(req=export_requests())
def test_json_and_protobuf_give_the_same_stored_spans(req: ExportTraceServiceRequest) -> None:
    back = parse_json(json.dumps(to_otlp_json(req)).encode(), ExportTraceServiceRequest(), [])
    via_json = [s.content() for s in extract_spans(back, "t", 0, 1).spans]
    via_pb = [s.content() for s in extract_spans(req, "t", 0, 1).spans]
    assert json.dumps(via_json, sort_keys=True) == json.dumps(via_pb, sort_keys=True)


# -- the store against a dict model -------------------------------------------------------------

TRACES = [bytes([i]) * 16 for i in range(1, 4)]
SPAN_IDS = [bytes([i]) * 8 for i in range(1, 5)]


class StoreMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.store = SpanStore()
        self.model: dict[tuple[str, str], str] = {}
        self.duplicates = 0

    @rule(keys=st.lists(st.tuples(st.sampled_from(TRACES), st.sampled_from(SPAN_IDS)), max_size=6),
          name=st.sampled_from(["a", "b"]))
    def ingest(self, keys: list[tuple[bytes, bytes]], name: str) -> None:
        req = ExportTraceServiceRequest()
        ss = req.resource_spans.add().scope_spans.add()
        ss.spans.extend(Span(trace_id=t, span_id=s, name=name) for t, s in keys)
        record = self.store.open_request(lambda rid: RequestRecord(rid, "/v1/traces", 0, PB, "", "", "raw", "t"))
        accepted, dups = self.store.add_spans(record, extract_spans(req, "t", 0, record.id).spans)
        fresh = 0
        for t, s in keys:
            key = (t.hex(), s.hex())
            if key in self.model:
                self.duplicates += 1
            else:
                self.model[key] = name
                fresh += 1
        assert (accepted, dups) == (fresh, len(keys) - fresh)

    @rule()
    def reset(self) -> None:
        self.store.reset()
        self.model.clear()
        self.duplicates = 0

    @rule(trace=st.sampled_from(TRACES), name=st.sampled_from(["a", "b", None]))
    def query(self, trace: bytes, name: str | None) -> None:
        got = {s.key for s in self.store.query(SpanQuery(trace_id=trace.hex(), name=name))}
        want = {k for k, n in self.model.items() if k[0] == trace.hex() and name in (None, n)}
        assert got == want
        assert {s.key for s in self.store.trace(trace.hex())} == {k for k in self.model if k[0] == trace.hex()}

    @invariant()
    def counts_agree(self) -> None:
        stats = self.store.stats()
        assert stats["spans"] == len(self.model) == stats["spans_accepted"]
        assert stats["spans_duplicate"] == self.duplicates


TestStoreAgainstADictModel = StoreMachine.TestCase
TestStoreAgainstADictModel.settings = settings(max_examples=40, stateful_step_count=20, deadline=None)
