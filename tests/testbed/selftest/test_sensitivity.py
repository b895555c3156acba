"""Sensitivity (RUN-07): the ladders name catalogued defects that take their grades, rarity grades
get workloads long enough to break the item at least twice, and the summary reports per check the
finest grade caught in every run, whether that meets the target, and the false alarms of the
clean runs, from synthetic trials."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testbed.defect_switches import parse_grade
from testbed.exporter.defects import EXPORTER_GRADED
from testbed.gateway.defects import GATEWAY_GRADED
from testbed.runner.scenario import Scenario, Workload, load_scenarios
from testbed.selftest.catalogue import by_name
from testbed.selftest.grades import LADDERS, Ladder, ladders_for, only_check, requests_needed, sized
from testbed.selftest.run import selftest_main
from testbed.selftest.sensitivity_table import (
    Trial, markdown_table, report_html, report_json, summarize, text_table,
)

SCENARIOS = Path(__file__).resolve().parents[3] / "scenarios"
LADDER = Ladder("redaction", "leak_content_at_ingest", "redaction-on", ("1/10", "1/100", "1/1000"),
                rate_per_s=100, target="1/1000")


def test_every_ladder_climbs_a_catalogued_defect_with_grades_it_takes_in_a_scenario_that_runs_its_check() -> None:
    shipped = load_scenarios(SCENARIOS)
    graded = {**GATEWAY_GRADED, **EXPORTER_GRADED}
    for lad in LADDERS:
        defect = by_name([lad.defect])[0]
        assert defect.check == lad.check and lad.scenario in shipped and lad.check in shipped[lad.scenario].checks
        kinds = {g.kind for g in lad.parsed()}
        assert kinds == {graded[lad.defect]}, lad.defect
        assert lad.target in lad.grades


def test_the_ladders_cover_the_five_graded_checks_and_an_unknown_check_is_refused() -> None:
    assert {lad.check for lad in LADDERS} == {"redaction", "loss", "semconv-values", "latency", "isolation"}
    assert [lad.check for lad in ladders_for(["loss", "redaction"])] == ["redaction", "loss"]
    with pytest.raises(KeyError):
        ladders_for(["streaming"])


@pytest.mark.parametrize(("grade", "unit", "requests"), [
    ("1/10", "request", 20), ("1/1000", "request", 2000), ("1/5000", "span", 5000), ("5ms", "request", 0),
])
def test_a_rarity_grade_needs_enough_requests_to_break_twice(grade: str, unit: str, requests: int) -> None:
    assert requests_needed(parse_grade(grade), unit) == requests  # type: ignore[arg-type]


def test_a_rare_grade_lengthens_the_run_at_the_ladders_rate_and_a_coarse_one_keeps_the_shipped_size() -> None:
    sc = Scenario("redaction-on", Workload(rate_per_s=20, duration_s=2))
    rare = sized(sc, LADDER, parse_grade("1/1000"))
    assert (rare.workload.rate_per_s, rare.workload.duration_s) == (100, 20.0)
    coarse = sized(sc, LADDER, parse_grade("1/10"))
    assert (coarse.workload.rate_per_s, coarse.workload.duration_s) == (100, 2.0)
    stall = Ladder("latency", "stall_request_path", "latency-budget-250rps", ("50ms", "5ms"))
    assert sized(sc, stall, parse_grade("5ms")) is sc


def _trials(per_grade: dict[str, list[bool]], clean: list[str]) -> list[Trial]:
    trials = [Trial("", False, outcome, "clean") for outcome in clean]
    trials += [Trial(g, hit, "failed" if hit else "passed") for g, hits in per_grade.items() for hit in hits]
    return trials


def test_the_smallest_grade_is_the_finest_caught_in_every_run() -> None:
    trials = _trials({"1/10": [True] * 3, "1/100": [True] * 3, "1/1000": [True, False, True]}, ["passed"] * 3)
    s = summarize(LADDER, trials, 3)
    assert s.caught == (("1/10", 3, 3), ("1/100", 3, 3), ("1/1000", 2, 3))
    assert s.smallest == "1/100" and not s.target_met and s.false_alarms == 0


def test_a_ladder_caught_at_its_target_meets_it_even_when_a_coarser_grade_slipped() -> None:
    trials = _trials({"1/10": [True, False], "1/100": [True, True], "1/1000": [True, True]}, ["passed", "passed"])
    s = summarize(LADDER, trials, 2)
    assert s.smallest == "1/1000" and s.target_met


def test_nothing_caught_in_every_run_has_no_smallest_grade() -> None:
    s = summarize(LADDER, _trials({"1/10": [False, True]}, ["passed"]), 2)
    assert s.smallest is None and not s.target_met


def test_a_failed_clean_run_is_a_false_alarm_and_an_inconclusive_one_is_counted_apart() -> None:
    trials = _trials({"1/10": [True]}, ["passed", "failed", "inconclusive", "failed"])
    s = summarize(LADDER, trials, 4)
    assert (s.clean_runs, s.false_alarms, s.clean_inconclusive) == (4, 2, 1)


def test_the_table_json_and_html_carry_the_same_row() -> None:
    trials = _trials({"1/10": [True] * 2, "1/100": [True] * 2, "1/1000": [False, True]}, ["passed", "failed"])
    s = summarize(LADDER, trials, 2)
    md = markdown_table([s])
    assert "| redaction | leak_content_at_ingest | redaction-on | 1/10: 2/2, 1/100: 2/2, 1/1000: 1/2 | 1/100 |" in md
    assert "| 1/1000 | NO | 1/2 |" in md
    assert "1/100" in text_table([s]).splitlines()[1]
    doc = report_json("run-1", [s], 12.34)
    assert json.loads(json.dumps(doc))["checks"][0] == {
        "check": "redaction", "defect": "leak_content_at_ingest", "scenario": "redaction-on", "repeats": 2,
        "grades": [{"grade": "1/10", "caught": 2, "runs": 2}, {"grade": "1/100", "caught": 2, "runs": 2},
                   {"grade": "1/1000", "caught": 1, "runs": 2}],
        "smallest_caught_every_run": "1/100", "target": "1/1000", "target_met": False,
        "clean_runs": 2, "false_alarms": 1, "clean_inconclusive": 0}
    page = report_html("run-1", [s])
    assert "<td>1/10: 2/2, 1/100: 2/2, 1/1000: 1/2</td>" in page and "http" not in page


def test_the_command_line_refuses_a_check_without_a_ladder_and_zero_repeats(capsys: pytest.CaptureFixture[str]) -> None:
    assert selftest_main(["--sensitivity", "--check", "streaming"]) == 2
    assert "streaming" in capsys.readouterr().err
    assert selftest_main(["--sensitivity", "--repeats", "0"]) == 2
    assert "--repeats" in capsys.readouterr().err


def test_a_ladder_runs_its_check_alone_and_keeps_only_that_checks_suppressions() -> None:
    from testbed.checks.suppress import Suppression

    sc = Scenario("baseline", Workload(rate_per_s=20, duration_s=2),
                  expected_findings=(Suppression(spec_id="SEM-09", reason="known"),
                                     Suppression(spec_id="LOSS-03", reason="known")))
    alone = only_check(sc, "semconv-values")
    assert alone.checks == ("semconv-values",)
    assert [e.spec_id for e in alone.expected_findings] == ["SEM-09"]
