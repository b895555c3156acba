"""Reading captures for ``testbed lint``: OTLP JSON (hex ids), JSON lines, gzip, protobuf, an
ingest dump and a directory of them are told apart by content; unreadable input is a
configuration error (exit 2) that names the file, never a crash."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from google.protobuf.json_format import ParseDict

from testbed.cli import main
from testbed.lint.capture import CaptureError, capture_files, parse_capture

TRACE, SPAN = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"


def otlp_json(name: str = "chat gpt-4o-mini", attrs: dict[str, str] | None = None) -> dict[str, Any]:
    attributes = [{"key": k, "value": {"stringValue": v}} for k, v in (attrs or {"gen_ai.operation.name": "chat"}).items()]
    span = {"traceId": TRACE, "spanId": SPAN, "name": name, "kind": 3, "startTimeUnixNano": "1000",
            "endTimeUnixNano": "2000", "attributes": attributes}
    return {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "gw"}}]},
                               "scopeSpans": [{"spans": [span]}]}]}


def protobuf_body() -> bytes:
    doc = otlp_json()
    span = doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span["traceId"], span["spanId"] = "S/kvNXezTaajzpKdDg5HNg==", "APBnqgupArc="  # protobuf JSON mapping: base64
    return ParseDict(doc, trace_service_pb2.ExportTraceServiceRequest()).SerializeToString()


@pytest.mark.parametrize(("data", "form"), [
    pytest.param(json.dumps(otlp_json()).encode(), "otlp-json", id="otlp-json"),
    pytest.param(gzip.compress(json.dumps(otlp_json()).encode()), "otlp-json", id="gzip-json"),
    pytest.param(protobuf_body(), "otlp-protobuf", id="protobuf"),
    pytest.param(gzip.compress(protobuf_body()), "otlp-protobuf", id="gzip-protobuf"),
    pytest.param((json.dumps(otlp_json()) + "\n" + json.dumps(otlp_json("other"))).encode(), "otlp-json-lines",
                 id="json-lines"),
])
def test_each_capture_form_is_told_by_content(data: bytes, form: str) -> None:
    cap = parse_capture(data, "capture")
    assert cap.form == form and cap.spans
    assert cap.spans[0].trace_id == TRACE and cap.spans[0].span_id == SPAN


def test_an_ingest_dump_is_read_as_the_query_api_wrote_it() -> None:
    span = {"trace_id": TRACE, "span_id": SPAN, "parent_span_id": "", "name": "chat x", "kind": 3, "start_ns": 1,
            "end_ns": 2, "status": {"code": 0, "message": ""}, "attributes": {"a": {"type": "string", "value": "b"}},
            "events": [], "links": [], "resource": {"attributes": {}}, "scope": {"name": "s"}, "arrival_ns": 3}
    cap = parse_capture(json.dumps({"spans": [span]}).encode(), "dump.json")
    assert cap.form == "ingest-dump" and cap.spans[0].value("a") == "b"


@pytest.mark.parametrize("data", [b"\x1f\x8bnot gzip", b"{\"resourceSpans\": 7}", b"\xff\xfe garbage \x00",
                                  b'{"spans": [{"no": "ids"}]}'], ids=["broken-gzip", "bad-json", "garbage", "bad-dump"])
def test_unreadable_captures_are_configuration_errors_naming_the_file(data: bytes) -> None:
    with pytest.raises(CaptureError, match="capture.bin"):
        parse_capture(data, "capture.bin")


def test_a_directory_stands_for_its_files_in_name_order_and_a_missing_path_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "b.json").write_text("{}", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.pb").write_bytes(b"")
    assert [p.name for p in capture_files([tmp_path])] == ["b.json", "a.pb"]
    with pytest.raises(CaptureError, match="no such file"):
        capture_files([tmp_path / "nope"])


def test_lint_exits_2_on_an_unreadable_capture_and_1_on_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"{\"resourceSpans\": 7}")
    assert main(["lint", str(bad), "--out", str(tmp_path / "r")]) == 2
    leak = tmp_path / "leak.json"
    leak.write_text(json.dumps(otlp_json(attrs={"gen_ai.operation.name": "chat",
                                                "http.request.header.authorization": "Bearer abcdefghijklmnopqrstuvwxyz"})))
    assert main(["lint", str(leak), "--out", str(tmp_path / "r")]) == 1
