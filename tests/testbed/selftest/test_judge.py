"""The selftest's strict judge (RUN-05): a defect is caught only when its own check *failed* through an
unsuppressed violation citing the defect's ids that the clean run did not also earn, and only when
every span shows the defect was on; a warning-level defect is at most ``warned``; a clean run must
pass every check it is under proof for, and an inconclusive check anywhere fails it (RUN-03)."""

from __future__ import annotations

import pytest

from testbed.checks.result import CheckResult, Finding
from testbed.selftest.catalogue import Defect
from testbed.selftest.judge import RunView, judge_clean, judge_defect, passed

USAGE = Defect("wrong_usage", "gateway", "semconv-values", ("SEM-09",), "baseline", "off by one")
KIND = Defect("wrong_span_kind", "exporter", "semconv", ("SEM-02",), "baseline", "INTERNAL", "warning")
ON = {"wrong_usage": 4}
KIND_ON = {"wrong_span_kind": 4}


def finding(check: str, spec_id: str, severity: str = "violation") -> Finding:
    return Finding(spec_id, check, severity, "value", f"{spec_id} broke")  # type: ignore[arg-type]


def result(check: str, outcome: str, *findings: Finding, reason: str = "") -> CheckResult:
    return CheckResult(check, (), outcome, findings, reason, judged={"spans": 4})  # type: ignore[arg-type]


def failed(check: str, spec_id: str) -> CheckResult:
    return result(check, "failed", finding(check, spec_id))


CLEAN = RunView((result("semconv", "passed"), result("semconv-values", "passed"), result("loss", "passed")),
                tags={"": 4})

DEFECT_CASES = [
    pytest.param(USAGE, RunView((failed("semconv-values", "SEM-09"),), tags=ON), CLEAN, "caught",
                 id="failed-via-violation-citing-its-id-is-caught"),
    pytest.param(USAGE, RunView((failed("semconv-values", "SEM-11"),), tags=ON), CLEAN, "missed",
                 id="a-violation-citing-another-id-misses"),
    pytest.param(USAGE, RunView((result("semconv-values", "passed"), failed("semconv", "SEM-09")), tags=ON), CLEAN,
                 "missed", id="a-violation-from-another-check-misses"),
    pytest.param(USAGE, RunView((result("semconv-values", "passed", finding("semconv-values", "SEM-09", "warning")),),
                                tags=ON), CLEAN, "missed", id="a-warning-never-catches-a-violation-defect"),
    pytest.param(USAGE, RunView((result("semconv-values", "passed"),), (finding("semconv-values", "SEM-09"),),
                                tags=ON), CLEAN, "missed", id="a-suppressed-violation-catches-nothing"),
    pytest.param(USAGE, RunView((failed("semconv-values", "SEM-09"),), tags=ON),
                 RunView((failed("semconv-values", "SEM-09"),), tags={"": 4}), "missed",
                 id="a-violation-the-clean-run-also-earns-proves-nothing"),
    pytest.param(USAGE, RunView((failed("semconv-values", "SEM-09"),), tags={"": 4}), CLEAN, "invisible",
                 id="no-span-carries-the-defect-so-it-was-not-on"),
    pytest.param(USAGE, RunView((failed("semconv-values", "SEM-09"),), tags={"wrong_usage": 3, "": 1}), CLEAN,
                 "invisible", id="one-untagged-span-makes-the-defect-not-visible"),
    pytest.param(USAGE, RunView((failed("semconv-values", "SEM-09"),), tags={}), CLEAN, "invisible",
                 id="no-span-at-all-is-not-visible"),
    pytest.param(USAGE, RunView(error="ProcessStartError: boom"), CLEAN, "error", id="a-broken-run-catches-nothing"),
    pytest.param(KIND, RunView((result("semconv", "passed", finding("semconv", "SEM-02", "warning")),), tags=KIND_ON),
                 CLEAN, "warned", id="a-warning-defect-is-warned-never-caught"),
    pytest.param(KIND, RunView((result("semconv", "passed"),), tags=KIND_ON), CLEAN, "missed",
                 id="a-warning-defect-without-its-warning-misses"),
    pytest.param(KIND, RunView((result("semconv", "passed", finding("semconv", "SEM-02", "warning")),), tags=KIND_ON),
                 RunView((result("semconv", "passed", finding("semconv", "SEM-02", "warning")),), tags={"": 4}),
                 "missed", id="a-warning-the-clean-run-also-earns-is-not-warned"),
]


@pytest.mark.parametrize(("defect", "run", "clean", "status"), DEFECT_CASES)
def test_a_defect_is_judged_strictly(defect: Defect, run: RunView, clean: RunView, status: str) -> None:
    catch = judge_defect(defect, run, clean)
    assert catch.status == status, catch.reason
    assert catch.caught is (status == "caught")
    assert catch.sound is (status == ("warned" if defect.severity == "warning" else "caught"))


def test_a_missed_defect_says_why_and_names_collateral_failures() -> None:
    run = RunView((result("semconv-values", "passed"), failed("semconv", "SEM-09")), tags=ON)
    catch = judge_defect(USAGE, run, CLEAN)
    assert "semconv-values is passed" in catch.reason and "SEM-09" in catch.reason
    assert catch.collateral == ("semconv",)
    invisible = judge_defect(USAGE, RunView((failed("semconv-values", "SEM-09"),), tags={"": 2}), CLEAN)
    assert "2 of 2 spans lack testbed.defects=wrong_usage" in invisible.reason
    same = RunView((failed("semconv-values", "SEM-09"),), tags={"": 4})
    echoed = judge_defect(USAGE, RunView((failed("semconv-values", "SEM-09"),), tags=ON), same)
    assert "the clean run earns the same SEM-09 findings" in echoed.reason
    silent = judge_defect(KIND, RunView((result("semconv", "passed"),), tags=KIND_ON), CLEAN)
    assert silent.reason == "semconv is passed with no unsuppressed warning citing SEM-02"


def test_a_failed_clean_check_is_explained_by_its_violation_before_its_reason() -> None:
    run = RunView((result("isolation", "failed", finding("isolation", "ISO-01"), reason="lag"),), tags={"": 2})
    assert judge_clean("isolation", run, {"isolation"}).problems == (
        "isolation is failed on the clean gateway (ISO-01: ISO-01 broke)",)


def test_a_graded_switch_must_be_visible_under_its_full_spelling() -> None:
    run = RunView((failed("semconv-values", "SEM-09"),), tags={"wrong_usage@1/10": 5})
    assert judge_defect(USAGE, run, CLEAN, "wrong_usage@1/10").caught
    assert judge_defect(USAGE, run, CLEAN, "wrong_usage@1/100").status == "invisible"
    joined = RunView((failed("semconv-values", "SEM-09"),), tags={"leak,wrong_usage": 5})
    assert judge_defect(USAGE, joined, CLEAN).caught


CLEAN_CASES = [
    pytest.param(CLEAN, {"semconv", "semconv-values"}, True, id="every-check-passed"),
    pytest.param(RunView((result("semconv", "passed"), result("streaming", "not_applicable")), tags={"": 2}),
                 {"semconv"}, True, id="not-applicable-outside-the-targets-is-fine"),
    pytest.param(RunView((result("semconv", "inconclusive", reason="no span"),), tags={"": 2}), {"semconv"}, False,
                 id="an-inconclusive-target-fails"),
    pytest.param(RunView((result("isolation", "inconclusive", reason="LAT-03"),), tags={"": 2}), {"isolation"}, False,
                 id="an-inconclusive-timing-check-fails-too"),
    pytest.param(RunView((result("semconv", "passed"), result("streaming", "inconclusive", reason="no pairs")),
                         tags={"": 2}), {"semconv"}, False, id="an-inconclusive-check-outside-the-targets-fails"),
    pytest.param(RunView((result("semconv", "not_applicable"),), tags={"": 2}), {"semconv"}, False,
                 id="a-target-that-is-not-applicable-fails"),
    pytest.param(RunView((result("semconv", "passed"), failed("loss", "LOSS-01")), tags={"": 2}), {"semconv"}, False,
                 id="another-check-failed"),
    pytest.param(RunView((result("loss", "passed"),), tags={"": 2}), {"semconv"}, False, id="a-missing-target"),
    pytest.param(RunView(error="x"), set(), False, id="a-broken-run"),
    pytest.param(RunView((result("semconv", "passed"),), tags={"wrong_usage": 1, "": 3}), {"semconv"}, False,
                 id="a-span-with-a-defect-tag"),
]


@pytest.mark.parametrize(("run", "targets", "ok"), CLEAN_CASES)
def test_a_clean_run_must_pass(run: RunView, targets: set[str], ok: bool) -> None:
    judged = judge_clean("baseline", run, targets)
    assert judged.ok is ok
    assert bool(judged.problems) is not ok


def test_a_clean_runs_problem_carries_the_checks_reason() -> None:
    judged = judge_clean("isolation", RunView((result("isolation", "inconclusive", reason="generator lag"),)),
                         {"isolation"})
    assert judged.problems == ("isolation is inconclusive on the clean gateway (generator lag)",)


def test_the_selftest_passes_only_when_clean_runs_pass_violations_are_caught_and_warnings_warned() -> None:
    clean = judge_clean("baseline", CLEAN, {"semconv-values"})
    hit = judge_defect(USAGE, RunView((failed("semconv-values", "SEM-09"),), tags=ON), CLEAN)
    miss = judge_defect(USAGE, RunView((result("semconv-values", "passed"),), tags=ON), CLEAN)
    warned = judge_defect(KIND, RunView((result("semconv", "passed", finding("semconv", "SEM-02", "warning")),),
                                        tags=KIND_ON), CLEAN)
    silent = judge_defect(KIND, RunView((result("semconv", "passed"),), tags=KIND_ON), CLEAN)
    assert passed([clean], [hit, warned])
    assert not passed([clean], [hit, miss])
    assert not passed([clean], [hit, silent])
    assert not passed([judge_clean("baseline", RunView(error="x"), set())], [hit])
    assert not passed([clean], [])


def test_the_report_file_carries_the_strict_verdict_and_every_misss_reason() -> None:
    from testbed.selftest.report import selftest_json

    clean = judge_clean("baseline", CLEAN, {"semconv-values"})
    miss = judge_defect(USAGE, RunView((result("semconv-values", "passed"),), tags=ON), CLEAN)
    warned = judge_defect(KIND, RunView((result("semconv", "passed", finding("semconv", "SEM-02", "warning")),),
                                        tags=KIND_ON), CLEAN)
    doc = selftest_json("run-1", [clean], [miss, warned], 3.21)
    assert doc["schema"] == "testbed.selftest/1" and doc["passed"] is False and doc["seconds"] == 3.2
    assert doc["clean_runs"] == [{"scenario": "baseline", "passed": True, "outcomes": {
        "semconv": "passed", "semconv-values": "passed", "loss": "passed"}, "problems": []}]
    assert [(d["defect"], d["status"], d["sound"]) for d in doc["defects"]] == [
        ("wrong_usage", "missed", False), ("wrong_span_kind", "warned", True)]
    assert "no unsuppressed violation citing SEM-09" in doc["defects"][0]["reason"]
    assert doc["defects"][1]["finding"]["spec_id"] == "SEM-02"
