"""Span records -> OTLP bytes (OTLP-03, OTLP-16, SEM-12): protobuf round trip through the official
protobuf classes, the JSON encoding rules (hex ids, integer enums, int64 as strings), grouping by
resource and scope, and a Hypothesis round trip of arbitrary attribute values."""

from __future__ import annotations

import base64
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from testbed.exporter.encoder import decode_partial_success, encode, encode_json, encode_protobuf
from testbed.exporter.mapping import map_event
from testbed.exporter.spans import Scope, SpanRecord

from tests.testbed.exporter.events import attempt, event


def python_value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which == "array_value":
        return [python_value(v) for v in value.array_value.values]
    return getattr(value, which)


def test_protobuf_round_trip_keeps_every_span_field_and_attribute_type_sem_12() -> None:
    ev = event(attempts=[attempt(0, http_status=503, error_type="503"), attempt(1)])
    records = map_event(ev, "0.1.0")
    decoded = ExportTraceServiceRequest.FromString(encode_protobuf(records))
    (resource_spans,) = decoded.resource_spans
    (scope_spans,) = resource_spans.scope_spans
    assert scope_spans.scope.name == "testbed.gateway" and scope_spans.scope.version == "0.1.0"
    assert {kv.key: kv.value.string_value for kv in resource_spans.resource.attributes}["service.name"] == "testbed-gateway"
    assert len(scope_spans.spans) == len(records)
    for record, span in zip(records, scope_spans.spans):
        assert span.trace_id.hex() == record.trace_id and span.span_id.hex() == record.span_id
        assert (span.parent_span_id.hex() or None) == record.parent_span_id
        assert (span.name, span.kind) == (record.name, record.kind)
        assert (span.start_time_unix_nano, span.end_time_unix_nano) == (record.start_ns, record.end_ns)
        assert span.status.code == record.status_code
        assert {kv.key: python_value(kv.value) for kv in span.attributes} == record.attributes
    client = scope_spans.spans[2]
    kinds = {kv.key: kv.value.WhichOneof("value") for kv in client.attributes}
    assert kinds["gen_ai.usage.input_tokens"] == "int_value"
    assert kinds["gen_ai.request.temperature"] == "double_value"
    assert kinds["gen_ai.response.finish_reasons"] == "array_value"
    assert kinds["gen_ai.operation.name"] == "string_value"


def test_spans_are_grouped_under_their_own_resource_and_scope_otlp_16() -> None:
    a = map_event(event(resource={"service.name": "gw-a"}), "1")
    b = map_event(event(resource={"service.name": "gw-b"}), "1")
    c = map_event(event(resource={"service.name": "gw-a"}), "2")
    decoded = ExportTraceServiceRequest.FromString(encode_protobuf([*a, *b, *c]))
    names = [rs.resource.attributes[0].value.string_value for rs in decoded.resource_spans]
    assert names == ["gw-a", "gw-b"]
    versions = [[ss.scope.version for ss in rs.scope_spans] for rs in decoded.resource_spans]
    assert versions == [["1", "2"], ["1"]]
    assert sum(len(ss.spans) for rs in decoded.resource_spans for ss in rs.scope_spans) == len(a) + len(b) + len(c)


def test_json_uses_hex_ids_integer_enums_and_int64_strings_otlp_03() -> None:
    records = map_event(event(), "0.1.0")
    data = json.loads(encode_json(records))
    span = data["resourceSpans"][0]["scopeSpans"][0]["spans"][1]
    assert span["traceId"] == records[1].trace_id and span["spanId"] == records[1].span_id
    assert span["parentSpanId"] == records[0].span_id
    assert span["kind"] == 3
    assert span["startTimeUnixNano"] == str(records[1].start_ns)
    attrs = {a["key"]: a["value"] for a in span["attributes"]}
    assert attrs["gen_ai.usage.input_tokens"] == {"intValue": "11"}
    assert attrs["gen_ai.request.temperature"] == {"doubleValue": 0.5}
    assert attrs["gen_ai.response.finish_reasons"] == {"arrayValue": {"values": [{"stringValue": "stop"}]}}


def test_json_body_parses_with_the_protobuf_json_mapping_once_ids_are_base64() -> None:
    from google.protobuf import json_format

    records = map_event(event(), "0.1.0")
    data = json.loads(encode(records, "http/json")[0])
    for rs in data["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for span in ss["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
    parsed = json_format.ParseDict(data, ExportTraceServiceRequest())
    assert parsed == ExportTraceServiceRequest.FromString(encode_protobuf(records))


def test_partial_success_is_read_from_protobuf_and_json_responses_otlp_06() -> None:
    response = ExportTraceServiceResponse()
    response.partial_success.rejected_spans = 3
    response.partial_success.error_message = "bad ids"
    got = decode_partial_success(response.SerializeToString(), "application/x-protobuf")
    assert got is not None and got.rejected_spans == 3 and got.error_message == "bad ids"
    got = decode_partial_success(b'{"partialSuccess": {"rejectedSpans": "2"}}', "application/json")
    assert got is not None and got.rejected_spans == 2
    assert decode_partial_success(b"", "application/x-protobuf") is None
    assert decode_partial_success(b"\xff\xff garbage", "application/x-protobuf") is None


attr_values = st.one_of(
    st.text(max_size=20), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False), st.lists(st.text(max_size=5), max_size=4),
    st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=4),
)


@settings(max_examples=150, deadline=None)
@given(attrs=st.dictionaries(st.text(min_size=1, max_size=12), attr_values, max_size=8),
       start=st.integers(min_value=0, max_value=2**63), span_id=st.binary(min_size=8, max_size=8))
def test_any_attribute_set_survives_protobuf_and_json_round_trips(attrs: dict[str, Any], start: int, span_id: bytes) -> None:
    record = SpanRecord(trace_id="ab" * 16, span_id=span_id.hex(), parent_span_id=None, name="n", kind=3,
                        start_ns=start, end_ns=start, resource={"service.name": "s"}, scope=Scope("x"),
                        attributes=attrs)
    decoded = ExportTraceServiceRequest.FromString(encode_protobuf([record]))
    span = decoded.resource_spans[0].scope_spans[0].spans[0]
    assert {kv.key: python_value(kv.value) for kv in span.attributes} == attrs
    assert span.span_id.hex() == record.span_id and span.start_time_unix_nano == start
    data = json.loads(encode_json([record]))
    json_span = data["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert json_span["spanId"] == record.span_id
    assert json_span.get("startTimeUnixNano", "0") == str(start)
