"""``testbed compare`` as a CI gate: two identical runs pass; a doctored regression (a check
flipped to failed, vanished or gone inconclusive, a scenario missing (RUN-08), an inflated gateway
p99) fails; the tolerance widens for small samples; bad
input exits 2. Overhead is pX(gateway) − pX(direct) (LAT-04)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from testbed.report import Tolerance, compare_main, compare_results
from testbed.report.compare import tolerance_ms
from tests.testbed.report.sample import latency_entry, results, spread


def _write(tmp_path: Path, name: str, doc: Any) -> str:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return str(path)


def _run(tmp_path: Path, base: Any, cur: Any, *extra: str) -> tuple[int, str]:
    out = io.StringIO()
    code = compare_main([_write(tmp_path, "base.json", base), _write(tmp_path, "cur.json", cur), *extra], out)
    return code, out.getvalue()


def test_two_identical_runs_pass(tmp_path: Path) -> None:
    code, text = _run(tmp_path, results(), results())
    assert code == 0
    assert text.startswith("## testbed compare: no regression")
    assert "within tolerance" in text


def test_a_check_flipped_to_failed_is_a_regression(tmp_path: Path) -> None:
    cur = results()
    cur["scenarios"][0]["checks"][1].update(outcome="failed", findings=[
        {"spec_id": "LOSS-01", "severity": "violation", "message": "3 span(s) unaccounted for", "evidence": {}}])
    code, text = _run(tmp_path, results(), cur)
    assert code == 1
    assert "### Regressions: checks that newly fail, vanished or went inconclusive" in text
    assert "| chat | loss | passed | failed | LOSS-01: 3 span(s) unaccounted for |" in text


def test_an_inflated_gateway_p99_is_a_regression(tmp_path: Path) -> None:
    cur = results()
    slow = spread(12.0)
    slow[-60:] = [v * 3 for v in slow[-60:]]  # the top 3% triples: p99 moves, p50 does not
    cur["scenarios"][0]["latency"][0] = latency_entry("gateway", slow)
    code, text = _run(tmp_path, results(), cur)
    assert code == 1
    row = next(line for line in text.splitlines() if "| p99 |" in line)
    assert "**regression**" in row
    assert "| p50 |" in text and "regression" not in next(l for l in text.splitlines() if "| p50 |" in l)


def test_a_newly_passing_check_and_a_faster_gateway_are_listed_but_do_not_gate(tmp_path: Path) -> None:
    cur = results()
    cur["scenarios"][0]["checks"][0].update(outcome="passed", findings=[])
    cur["scenarios"][0]["latency"][0] = latency_entry("gateway", spread(10.0))
    code, text = _run(tmp_path, results(), cur)
    assert code == 0
    assert "### Checks that newly pass" in text and "improvement" in text


def test_a_scenario_that_now_breaks_is_a_regression() -> None:
    cur = results()
    cur["scenarios"][0].update(status="error", checks=[], error="boom")
    comparison = compare_results(results(), cur)
    assert comparison.regressed
    assert ("chat", "(run)") in [(r.scenario, r.check) for r in comparison.regressions]


def test_send_lag_and_service_time_are_not_gated() -> None:
    cur = results()
    cur["scenarios"][0]["latency"][2] = latency_entry("gateway", spread(50.0), metric="send_lag")
    assert {d.group for d in compare_results(results(), cur).overhead} == {"measure/healthy/latency"}


@pytest.mark.parametrize(("base_ms", "n", "pct", "expected"), [
    pytest.param(100.0, 10_000, 99.0, 10.0, id="enough-tail-samples-10pct"),
    pytest.param(5.0, 10_000, 99.0, 1.0, id="absolute-floor"),
    pytest.param(100.0, 250, 99.0, 20.0, id="small-sample-widens-by-sqrt-of-10-over-2.5"),
    pytest.param(100.0, 50, 99.0, None, id="no-sample-beyond-p99"),
])
def test_the_tolerance_is_noise_aware(base_ms: float, n: int, pct: float, expected: float | None) -> None:
    got = tolerance_ms(base_ms, n, pct, Tolerance())
    assert got == (None if expected is None else pytest.approx(expected))


def test_too_few_samples_never_gate() -> None:
    small = results()
    small["scenarios"][0]["latency"][:2] = [latency_entry("gateway", spread(12.0, 50)),
                                             latency_entry("direct", spread(10.0, 50))]
    worse = json.loads(json.dumps(small))
    worse["scenarios"][0]["latency"][0] = latency_entry("gateway", spread(40.0, 50))
    verdicts = {d.percentile: d.verdict for d in compare_results(small, worse).overhead}
    assert verdicts["p99"] == "too few samples"
    assert verdicts["p50"] == "regression"


@pytest.mark.parametrize("bad", [
    pytest.param("not json", id="not-json"),
    pytest.param({"schema": "testbed.results/2", "scenarios": []}, id="other-schema"),
    pytest.param([1, 2], id="not-an-object"),
])
def test_unreadable_or_foreign_input_exits_2(tmp_path: Path, bad: Any) -> None:
    assert _run(tmp_path, results(), bad)[0] == 2


def test_a_missing_file_or_bad_usage_exits_2(tmp_path: Path) -> None:
    assert compare_main([str(tmp_path / "nope.json"), str(tmp_path / "nope.json")], io.StringIO()) == 2
    assert compare_main([], io.StringIO()) == 2


def test_pipes_in_names_do_not_break_the_markdown_table(tmp_path: Path) -> None:
    base, cur = results(), results()
    for doc in (base, cur):
        doc["scenarios"][0]["name"] = "a|b"
    cur["scenarios"][0]["checks"][1]["outcome"] = "failed"
    code, text = _run(tmp_path, base, cur)
    assert code == 1 and "| a\\|b | loss |" in text


def test_a_run_where_every_scenario_vanished_is_a_regression_RUN_08(tmp_path: Path) -> None:
    cur = results()
    cur["scenarios"] = []
    code, text = _run(tmp_path, results(), cur)
    assert code == 1
    assert "| chat | (scenario) | failed | absent | the scenario is missing from the current run |" in text
    assert "| chat | loss | passed | absent | the check is missing from the current run |" in text
    assert "no regression" not in text


def test_a_check_that_vanished_from_a_scenario_is_a_regression_RUN_08() -> None:
    cur = results()
    dropped = cur["scenarios"][0]["checks"].pop(1)
    c = compare_results(results(), cur)
    assert [(r.scenario, r.check, r.current) for r in c.regressions] == [("chat", dropped["check"], "absent")]
    assert c.regressed


def test_a_check_that_went_inconclusive_is_a_regression_RUN_08() -> None:
    cur = results()
    cur["scenarios"][0]["checks"][1].update(outcome="inconclusive", reason="send-lag p99 differs")
    c = compare_results(results(), cur)
    assert [(r.check, r.baseline, r.current) for r in c.regressions] == [("loss", "passed", "inconclusive")]


def test_a_check_new_in_the_current_run_does_not_gate() -> None:
    base = results()
    base["scenarios"][0]["checks"].pop(1)
    c = compare_results(base, results())
    assert not c.regressions and [o.current for o in c.other] == ["passed"]


def test_not_applicable_in_both_runs_is_no_regression_but_failing_after_it_is() -> None:
    assert not compare_results(results(), results()).regressions  # the sample's streaming is n/a in both
    cur = results()
    next(ch for ch in cur["scenarios"][0]["checks"] if ch["check"] == "streaming").update(outcome="failed")
    c = compare_results(results(), cur)
    assert [(r.check, r.baseline, r.current) for r in c.regressions] == [("streaming", "not_applicable", "failed")]


def test_a_check_that_went_not_applicable_lost_its_evidence_RUN_03() -> None:
    cur = results()
    cur["scenarios"][0]["checks"][1].update(outcome="not_applicable", reason="no streamed request")
    c = compare_results(results(), cur)
    assert [(r.check, r.baseline, r.current) for r in c.regressions] == [("loss", "passed", "not_applicable")]
