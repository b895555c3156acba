"""End to end: the baseline scenario against the real stack passes and writes results.json, both
with the stack's reference gateway and with the reference gateway launched through its profile
exactly as an external gateway would be (the GatewayUnderTest seam). A fault timeline scenario
records its applications. Real processes on 127.0.0.1; no mocks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testbed.runner.cli_entry import run_command

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def only_results(out: Path) -> dict:
    [run_dir] = list(out.iterdir())
    return json.loads((run_dir / "results.json").read_text(encoding="utf-8"))


def test_baseline_passes_on_the_reference_gateway_and_writes_results(tmp_path: Path) -> None:
    assert run_command(["baseline", "otlp-5xx-burst"], None, str(tmp_path)) == 0
    doc = only_results(tmp_path)
    assert doc["schema"] == "testbed.results/1" and doc["status"] == "passed"
    by_name = {s["name"]: s for s in doc["scenarios"]}
    base = by_name["baseline"]
    assert base["evidence"]["spans"] == base["evidence"]["expected_spans"] > 0
    assert {c["check"]: c["outcome"] for c in base["checks"]}["loss"] == "passed"
    burst = by_name["otlp-5xx-burst"]
    names = ["single-503-a", "single-503-b", "single-503-c", "single-503-d", "single-503-e", "burst-503"]
    timeline = [(t["fault"], t["op"], t["error"]) for t in burst["timeline"]]
    assert sorted(timeline) == sorted((n, op, None) for n in names for op in ("apply", "clear"))
    exporter = {c["check"]: c for c in burst["checks"]}["exporter"]
    assert exporter["outcome"] == "passed" and exporter["judged"]["retry_chains"] >= 5  # OTLP-10 judged


def test_the_reference_gateway_runs_through_its_profile_like_an_external_gateway(tmp_path: Path) -> None:
    assert run_command(["baseline"], "reference", str(tmp_path)) == 0
    doc = only_results(tmp_path)
    assert doc["run"]["gateway"]["name"] == "reference-profile"
    assert doc["scenarios"][0]["status"] == "passed"
