"""``testbed lint`` on captures the official OpenTelemetry SDK made with the openai-v2
instrumentation against the fake providers: the SDK's own OTLP protobuf encoding (plain and
gzip) and a dump of the fake ingest after the SDK's OTLP/HTTP exporter sent to it. A correct
instrumentation must get no violation (no false alarm), and the report files are written."""

from __future__ import annotations

import gzip
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testbed.cli import main

openai = pytest.importorskip("openai")
openai_v2 = pytest.importorskip("opentelemetry.instrumentation.openai_v2")

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans  # noqa: E402
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402


@pytest.fixture
def captures(tmp_path: Path, fake_providers: Any, fake_middleware: Any) -> Iterator[Path]:
    """A directory of captures of one non-streamed and one streamed chat."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "my-app", "service.version": "1.0"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(
        endpoint=fake_middleware.otlp_endpoint, headers={"Authorization": fake_middleware.api_key})))
    instrumentor = openai_v2.OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        client = openai.OpenAI(base_url=fake_providers.openai_base_url, api_key=fake_providers.api_key)
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], max_tokens=16)
        stream = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
                                                stream=True, stream_options={"include_usage": True})
        for _ in stream:
            pass
        provider.force_flush()
        fake_middleware.wait_for_spans(2, timeout=30)
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
    out = tmp_path / "captures"
    out.mkdir()
    body = encode_spans(memory.get_finished_spans()).SerializeToString()
    (out / "sdk.pb").write_bytes(body)
    (out / "sdk.pb.gz").write_bytes(gzip.compress(body))
    with urllib.request.urlopen(f"{fake_middleware.url}/api/v1/spans", timeout=30) as resp:
        (out / "ingest-dump.json").write_bytes(resp.read())
    yield out


def _results(out: Path) -> dict[str, Any]:
    [run] = list(out.iterdir())
    assert {p.name for p in run.iterdir()} == {"results.json", "index.html", "junit.xml"}
    return json.loads((run / "results.json").read_text(encoding="utf-8"))


def test_an_sdk_capture_with_the_openai_v2_instrumentation_has_no_violation(captures: Path, tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["lint", str(captures), "--out", str(tmp_path / "reports")])
    printed = capsys.readouterr().out
    doc = _results(tmp_path / "reports")
    [scenario] = doc["scenarios"]
    violations = [f for c in scenario["checks"] for f in c["findings"] if f["severity"] == "violation"]
    assert code == 0 and violations == [], printed
    outcomes = {c["check"]: c["outcome"] for c in scenario["checks"]}
    assert outcomes == {"semconv": "passed", "gateway-spans": "passed", "redaction": "passed"}
    assert scenario["evidence"]["spans"] == 6  # two chats, each in three forms
    assert "otlp-protobuf" in printed and "ingest-dump" in printed


def test_the_same_capture_with_a_named_canary_in_it_fails_RED_01(captures: Path, tmp_path: Path) -> None:
    code = main(["lint", str(captures / "sdk.pb"), "--canary", "gpt-4o-mini", "--out", str(tmp_path / "r")])
    findings = [f for c in _results(tmp_path / "r")["scenarios"][0]["checks"] for f in c["findings"]]
    assert code == 1 and any(f["spec_id"] == "RED-01" for f in findings)
