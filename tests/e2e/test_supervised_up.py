"""``testbed up`` supervises its stack: the real command is started, its exporter and then its
gateway are SIGKILLed from outside by the pids its ready line gives, and the test proves that
each comes back on the same URL, that the supervisor's ``/metrics`` counts one restart each and
its stdout logs each as JSON, that no span of the requests sent around the kill is lost, and
that stopping the command leaves no temporary file behind."""

from __future__ import annotations

import os
import secrets
import signal
from pathlib import Path
from typing import Any

import openai
import requests

from testbed.process import ServerProcess, python_module_argv, start_server
from testbed.prometheus import scrape, scrape_sum


def _chat(client: openai.OpenAI, n: int) -> list[str]:
    """``n`` chat requests, each in a trace of its own; their trace ids."""
    trace_ids = []
    for _ in range(n):
        trace_id = secrets.token_hex(16)
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
                                       extra_headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"})
        trace_ids.append(trace_id)
    return trace_ids


def _restarts(ready: dict[str, Any], part: str) -> float:
    return scrape_sum(ready["metrics"]["supervisor"], "testbed_supervisor_restarts_total", part=part)


def _kill_and_await_restart(up: ServerProcess, part: str) -> dict[str, Any]:
    """SIGKILL ``part`` by its advertised pid; the supervisor's ``restarted`` log event."""
    ready = up.ready
    os.kill(ready["pids"][part], signal.SIGKILL)

    event, _ = up.wait_for_event("restarted", 60, service="supervisor", part=part)
    assert event["pid"] != ready["pids"][part] and event["same_url"] is True
    return event


def _assert_delivered(ready: dict[str, Any], traces: list[str]) -> None:
    """Every trace has its SERVER and CLIENT span at the ingest (waited for with a deadline)."""
    expected = 2 * len(traces)
    body = requests.get(f"{ready['middleware_admin']}/api/v1/spans",
                        params={"limit": 100000, "wait_count": expected, "wait_timeout_s": 60}, timeout=90).json()
    by_trace: dict[str, set[str]] = {}
    for span in body["spans"]:
        by_trace.setdefault(span["trace_id"], set()).add(span["span_id"])
    assert {t: len(by_trace.get(t, ())) for t in traces} == {t: 2 for t in traces}


def test_a_sigkilled_exporter_and_gateway_come_back_and_no_span_is_lost(tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    up = start_server(python_module_argv("testbed", "up"), env={"TMPDIR": str(tmp)}, timeout=120)
    try:
        ready = up.ready
        assert set(ready["pids"]) == {"gateway", "exporter", "providers", "middleware"}
        assert _restarts(ready, "exporter") == 0
        client = openai.OpenAI(base_url=f"{ready['gateway']}/v1", api_key=ready["gateway_api_key"], max_retries=0)
        traces = _chat(client, 10)
        event = _kill_and_await_restart(up, "exporter")
        traces += _chat(client, 10)
        assert event["restarts"] == 1 and event["down_s"] >= 0
        assert _restarts(ready, "exporter") == 1
        # Restarted on the same port: the URL the ready line advertised still answers.
        assert "testbed_exporter" in scrape(ready["metrics"]["exporter"])
        _assert_delivered(ready, traces)

        # A SIGKILLed gateway loses what it had not yet published; it is killed with nothing queued.
        _kill_and_await_restart(up, "gateway")
        after = _chat(client, 5)  # the same base URL as before the kill
        assert _restarts(ready, "gateway") == 1 and _restarts(ready, "exporter") == 1
        _assert_delivered(ready, traces + after)
    finally:
        status = up.stop(timeout=60)
    assert status == 0
    assert sorted(os.listdir(tmp)) == [], "testbed up left temporary files behind"
