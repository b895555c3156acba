"""``testbed watch`` end to end: the real command in its own process, the official OTel SDK
exporter (OTLP/HTTP protobuf) with the openai-v2 instrumentation sending to it, the fake
providers it started answering the SDK. Findings stream as spans arrive; SIGINT writes the
report and the exit status follows the verdict (0 clean, 1 on a violation)."""

from __future__ import annotations

import json
import re
import signal
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testbed.errors import WaitTimeout
from testbed.process import python_module_argv, start_server

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

openai = pytest.importorskip("openai")
openai_v2 = pytest.importorskip("opentelemetry.instrumentation.openai_v2")

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: E402


class Watch:
    """The running command; its stdout lines are awaited in order, each wait with a deadline."""

    def __init__(self, out: Path) -> None:
        self.proc = start_server(python_module_argv("testbed", "watch", "--providers", "--out", str(out)), timeout=60)
        self.ready = self.proc.ready
        self._next = 0

    @property
    def seen(self) -> list[str]:
        return [line.rstrip("\n") for line in self.proc.lines]

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        try:
            found, self._next = self.proc.wait_for_line(re.escape(text), timeout, after=self._next)
        except WaitTimeout as exc:
            raise AssertionError(f"{exc}; saw:\n" + "\n".join(self.seen)) from None
        return found.string.rstrip("\n")

    def stop(self) -> int:
        self.proc.signal(signal.SIGINT)
        self.wait_for("testbed watch:")
        return self.proc.popen.wait(timeout=60)


@pytest.fixture
def watch(tmp_path: Path) -> Iterator[Watch]:
    w = Watch(tmp_path / "reports")
    yield w
    w.proc.kill()


def _results(out: Path) -> dict[str, Any]:
    [run] = list(out.iterdir())
    return json.loads((run / "results.json").read_text(encoding="utf-8"))


def test_spans_from_the_otel_sdk_exporter_are_judged_live_and_reported_on_sigint(watch: Watch, tmp_path: Path) -> None:
    env = watch.ready["env"]
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == watch.ready["url"]
    key = env["OTEL_EXPORTER_OTLP_HEADERS"].split("=", 1)[1]
    provider = TracerProvider(resource=Resource.create({"service.name": "my-app", "service.version": "1"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=watch.ready["otlp_endpoint"],
                                                                    headers={"Authorization": key})))
    instrumentor = openai_v2.OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        client = openai.OpenAI(base_url=watch.ready["openai_base_url"], api_key="sk-any")
        for _ in range(2):
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        provider.force_flush()
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
    watch.wait_for("[watch] 2 spans judged")
    assert watch.stop() == 0, "\n".join(watch.seen)
    doc = _results(tmp_path / "reports")
    [scenario] = doc["scenarios"]
    assert scenario["status"] == "passed" and scenario["evidence"]["spans"] == 2


def test_a_violating_span_streams_as_a_new_violation_group_and_fails_the_run(watch: Watch, tmp_path: Path) -> None:
    key = watch.ready["env"]["OTEL_EXPORTER_OTLP_HEADERS"].split("=", 1)[1]
    span = {"traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "spanId": "00f067aa0ba902b7", "name": "chat gpt-4o-mini",
            "kind": 3, "startTimeUnixNano": "1000", "endTimeUnixNano": "2000",
            "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                           {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}},
                           {"key": "gen_ai.usage.input_tokens", "value": {"stringValue": "twelve"}}]}
    body = {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "gw"}}]},
                               "scopeSpans": [{"spans": [span]}]}]}
    req = urllib.request.Request(watch.ready["otlp_endpoint"], json.dumps(body).encode(),
                                 {"Content-Type": "application/json", "Authorization": key})
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 200
    watch.wait_for("[watch] 1 spans judged")
    line = watch.wait_for("violation")
    assert "new" in line
    assert watch.stop() == 1
    assert _results(tmp_path / "reports")["scenarios"][0]["status"] == "failed"
