"""results.json (schema testbed.results/1): verdicts, histograms per (phase, mode, path, metric)
that decode back to the same counts (LAT-05), request summaries and the overall status."""

from __future__ import annotations

import json

from testbed.checks import CheckResult, Finding, verdict
from testbed.checks.evidence import ClientRecord
from testbed.load.histogram import LatencyHistogram
from testbed.runner.results import SCHEMA, ScenarioOutcome, overall_status, results_json


def rec(i: int, path: str = "gateway", ok: bool = True, mode: str = "healthy") -> ClientRecord:
    base = 1_000_000_000 * i
    return ClientRecord(f"r-{i}", base, base + 1000, path=path, mode=mode, status=200 if ok else 500,  # type: ignore[arg-type]
                        first_byte_ns=base + 2_000_000, complete_ns=base + (3 + i) * 1_000_000)


def outcome(status: str, results: list[CheckResult]) -> ScenarioOutcome:
    return ScenarioOutcome("s", "s.yaml", status=status, verdict=verdict(results),
                           records=[rec(1), rec(2), rec(3, ok=False), rec(4, path="direct")], started_ns=0,
                           finished_ns=2_000_000_000)


def test_the_document_is_versioned_json_with_checks_findings_and_decodable_histograms() -> None:
    finding = Finding("SEM-04", "semconv", "warning", "missing", "m")
    o = outcome("passed", [CheckResult("semconv", ("SEM-04",), "passed", (finding,), judged={"spans": 3})])
    doc = json.loads(json.dumps(results_json("run-1", {"name": "reference"}, [o], 0, 5, {"python": "3"})))
    assert doc["schema"] == SCHEMA and doc["status"] == "passed" and doc["run"]["id"] == "run-1"
    sc = doc["scenarios"][0]
    assert sc["checks"][0]["findings"][0]["spec_id"] == "SEM-04"
    assert sc["checks"][0]["outcome"] == "passed" and sc["checks"][0]["judged"] == {"spans": 3}
    assert sc["checks"][0]["description"].startswith("GenAI spans carry")
    assert sc["requests"] == {"total": 4, "ok": 3, "by_path": {
        "gateway": {"total": 3, "ok": 2, "failed": 1, "cap_hit": 0}, "direct": {"total": 1, "ok": 1, "failed": 0,
                                                                                "cap_hit": 0}}}
    lat = {(h["path"], h["metric"]): h for h in sc["latency"]}
    assert lat[("gateway", "latency")]["summary"]["count"] == 2
    assert LatencyHistogram.decode(lat[("gateway", "latency")]["histogram"]).count == 2
    assert lat[("gateway", "latency")]["summary"]["max"] >= 4900  # 5 ms in µs, within HDR precision


def test_the_run_fails_when_any_scenario_is_not_a_pass() -> None:
    assert overall_status([outcome("passed", []), outcome("inconclusive", [])]) == "inconclusive"
    assert overall_status([outcome("failed", []), outcome("error", [])]) == "error"
    assert overall_status([outcome("passed", [])]) == "passed"
    assert overall_status([]) == "error"
