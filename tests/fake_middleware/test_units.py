"""Pure parts without a network: auth forms and modes (MW-02, MW-03), bounded inflation (OTLP-04,
OTLP-12), canary base64 alignments (SPEC 4), query conditions, key parsing."""

from __future__ import annotations

import base64
import gzip
import json

import pytest

from fake_middleware.auth import authenticate, header_form
from fake_middleware.canary import search
from fake_middleware.otlp import BodyTooLarge, BoundedDecoder, Encoding, Signal, Undecodable, UnsupportedMedia, \
    negotiate, pad_response, success_body
from fake_middleware.otlp_json import JsonDecodeError, parse_json
from fake_middleware.query import Condition, QueryError
from fake_middleware.settings import Settings, parse_keys
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest, \
    ExportTraceServiceResponse

KEYS = {"a": "key-a", "b": "key-b"}


@pytest.mark.parametrize("header, mode, tenant, form", [
    ("key-a", "raw", "a", "raw"),
    ("Bearer key-b", "raw_or_bearer", "b", "bearer"),
    ("bearer key-b", "raw", None, "bearer"),
    ("key-a", "bearer", None, "raw"),
    ("Bearer key-a", "bearer", "a", "bearer"),
    (None, "raw_or_bearer", None, "missing"),
    ("key-c", "raw_or_bearer", None, "raw"),
    ("key-a ", "raw", "a", "raw"),
], ids=["raw", "bearer-lenient", "bearer-in-raw-mode", "raw-in-bearer-mode", "bearer-mode", "missing", "unknown",
        "trailing-space"])
def test_auth_table(header: str | None, mode: str, tenant: str | None, form: str) -> None:
    result = authenticate(header, KEYS, mode)
    assert (result.tenant, result.form) == (tenant, form)
    assert (result.reason == "") == (tenant is not None)


def test_no_keys_means_an_open_ingest_that_still_records_the_form() -> None:
    assert authenticate(None, {}, "raw").tenant == "" and header_form("Bearer x") == ("bearer", "x")


def test_key_parsing_gives_tenants_and_refuses_repeats() -> None:
    assert parse_keys(["k1", "t2=k2"]) == {"default": "k1", "t2": "k2"}
    with pytest.raises(ValueError):
        parse_keys(["a=1", "a=2"])
    assert "k1" not in repr(Settings(keys=parse_keys(["k1"])))


def test_decoder_inflates_concatenated_gzip_members() -> None:
    decoder = BoundedDecoder("gzip", 10_000)
    data = gzip.compress(b"a" * 3000) + gzip.compress(b"b" * 3000)
    for i in range(0, len(data), 7):
        decoder.feed(data[i:i + 7])
    assert decoder.finish() == b"a" * 3000 + b"b" * 3000


def test_decoder_stops_inflating_at_the_limit() -> None:
    decoder = BoundedDecoder("gzip", 1000)
    with pytest.raises(BodyTooLarge):
        decoder.feed(gzip.compress(b"\0" * 10_000_000))
    assert decoder.decoded_bytes < 1000 + 256 * 1024


@pytest.mark.parametrize("data, error", [(gzip.compress(b"abc")[:-6], Undecodable), (b"plain", Undecodable)])
def test_decoder_refuses_broken_streams(data: bytes, error: type[Exception]) -> None:
    decoder = BoundedDecoder("gzip", 1000)
    with pytest.raises(error):
        decoder.feed(data)
        decoder.finish()


def test_unknown_media_and_encodings_are_unsupported() -> None:
    assert negotiate("application/json; charset=utf-8") is Encoding.JSON
    with pytest.raises(UnsupportedMedia):
        negotiate("application/grpc")
    with pytest.raises(UnsupportedMedia):
        BoundedDecoder("zstd", 10)


def test_padding_keeps_responses_decodable() -> None:
    body = pad_response(Encoding.PROTOBUF, success_body(Signal.TRACES, Encoding.PROTOBUF, 2, "m"), 5000)
    assert len(body) > 5000 and ExportTraceServiceResponse.FromString(body).partial_success.rejected_spans == 2
    doc = json.loads(pad_response(Encoding.JSON, success_body(Signal.TRACES, Encoding.JSON, 2, "m"), 100))
    assert doc["partialSuccess"] == {"rejectedSpans": "2", "errorMessage": "m"}


@pytest.mark.parametrize("shift", [0, 1, 2])
def test_canary_found_base64_encoded_at_every_alignment(shift: int) -> None:
    needle = b"CNRY-SYS-0123456789abcdef0123"
    body = b"{...}" + base64.b64encode(b"p" * shift + needle + b"tail")
    (hit,) = search(needle, 7, body, [])
    assert hit.encoding == f"base64/{shift}" and hit.request_id == 7


def test_canary_is_not_found_where_it_is_not() -> None:
    assert search(b"CNRY-SYS-0123456789abcdef0123", 1, b"CNRY-SYS-0123456789abcdef0124", [("h", "v")]) == []


@pytest.mark.parametrize("text, attrs, holds", [
    ("n==5", {"n": {"type": "int", "value": 5}}, True),
    ("n==5", {"n": {"type": "string", "value": "5"}}, True),
    ("n>=5.5", {"n": {"type": "double", "value": 5.5}}, True),
    ("n>5", {"n": {"type": "string", "value": "6"}}, False),
    ("n!=5", {}, True),
    ("flag==false", {"flag": {"type": "bool", "value": False}}, True),
    ("a.b==x=y", {"a.b": {"type": "string", "value": "x=y"}}, True),
], ids=["int-eq", "string-eq", "double-ge", "string-not-ordered", "absent-ne", "bool", "value-with-equals"])
def test_conditions(text: str, attrs: dict[str, dict[str, object]], holds: bool) -> None:
    assert Condition.parse(text).holds(attrs) is holds


def test_order_conditions_need_numbers() -> None:
    with pytest.raises(QueryError, match="where"):
        Condition.parse("n>=abc")


@pytest.mark.parametrize("doc, where", [
    ('{"resourceSpans": {}}', "$.resourceSpans"),
    ('{"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": "x"}]}]}]}', "startTimeUnixNano"),
    ('[' * 100_000 + ']' * 100_000, "not OTLP JSON|too deeply"),
    ('"text"', "not a JSON object"),
])
def test_json_errors_name_the_path(doc: str, where: str) -> None:
    with pytest.raises(JsonDecodeError, match=where.replace("$.", r"\$\.")):
        parse_json(doc.encode(), ExportTraceServiceRequest(), [])
