"""``testbed selftest`` end to end (RUN-05): the command line, the refusal of inherited switches,
and one real run proving a defect is caught while the clean gateway passes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from testbed.runner.scenario import Scenario, StackSpec, Workload
from testbed.selftest.catalogue import CATALOGUE, by_name
from testbed.selftest.run import EXIT_OK, EXIT_USAGE, plan, selftest_main


def test_list_prints_every_defect_of_the_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    assert selftest_main(["--list"]) == EXIT_OK
    out = capsys.readouterr().out
    assert all(d.name in out and d.scenario in out for d in CATALOGUE)


def test_an_unknown_defect_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert selftest_main(["--defect", "no_such_defect"]) == EXIT_USAGE
    assert "no_such_defect" in capsys.readouterr().err


@pytest.mark.parametrize("variable", ["TESTBED_GATEWAY_DEFECTS", "TESTBED_EXPORTER_DEFECTS"])
def test_a_defect_variable_in_the_environment_is_refused_before_anything_starts(
        variable: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(variable, "wrong_usage")
    assert selftest_main(["--defect", "wrong_usage"]) == EXIT_USAGE
    assert variable in capsys.readouterr().err


def test_the_plan_groups_scenarios_by_gateway_knobs_and_attaches_their_defects() -> None:
    work = Workload(rate_per_s=1, duration_s=1)
    on = Scenario("redaction-on", work, stack=StackSpec(exclude_request_data=True))
    base = Scenario("baseline", work)
    steps = plan(by_name(["wrong_usage", "leak_content_when_excluded", "wrong_span_kind"]), [on, base])
    assert [(sc.name, [d.name for d in ds]) for sc, ds in steps] == [
        ("baseline", ["wrong_span_kind", "wrong_usage"]), ("redaction-on", ["leak_content_when_excluded"])]


@pytest.mark.e2e
@pytest.mark.slow
def test_a_selftest_run_catches_wrong_usage_and_passes_the_clean_gateway(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "testbed", "selftest", "--defect", "wrong_usage", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    row = next(line for line in done.stdout.splitlines() if line.startswith("wrong_usage"))
    assert " caught " in row and " failed " in row and "SEM-09 violation" in row
    assert "1/1 defects caught, 0/0 warned, 1/1 clean runs passed" in done.stdout
    report = json.loads(next(tmp_path.glob("selftest-*/selftest.json")).read_text())
    assert report["passed"] and [d["status"] for d in report["defects"]] == ["caught"]


@pytest.mark.e2e
@pytest.mark.slow
def test_a_leak_only_the_ingest_sees_is_caught_by_red_01_with_a_clean_bus(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "testbed", "selftest", "--defect", "leak_content_at_ingest",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    row = next(line for line in done.stdout.splitlines() if line.startswith("leak_content_at_ingest"))
    assert " both " in row and " caught " in row and "RED-01 violation" in row
