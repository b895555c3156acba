"""Judging selftest runs: a defect counts as caught only by its own check, citing its SPEC ids at
its severity, with a finding the clean gateway does not also earn; a clean run must pass the checks
under proof and fail none (RUN-05, RUN-03)."""

from __future__ import annotations

from testbed.checks.result import CheckResult, Finding
from testbed.selftest.catalogue import Defect
from testbed.selftest.judge import RunView, judge_clean, judge_defect, passed

USAGE = Defect("wrong_usage", "gateway", "semconv-values", ("SEM-09",), "baseline", "off by one")
KIND = Defect("wrong_span_kind", "exporter", "semconv", ("SEM-02",), "baseline", "INTERNAL", "warning")


def finding(check: str, spec_id: str, severity: str = "violation") -> Finding:
    return Finding(spec_id, check, severity, "value", f"{spec_id} broke")  # type: ignore[arg-type]


def result(check: str, outcome: str, *findings: Finding, reason: str = "") -> CheckResult:
    return CheckResult(check, (), outcome, findings, reason)  # type: ignore[arg-type]


CLEAN = RunView((result("semconv", "passed"), result("semconv-values", "passed"), result("loss", "passed")))


def test_a_violation_citing_the_defects_spec_id_in_its_own_check_catches_it() -> None:
    run = RunView((result("semconv-values", "failed", finding("semconv-values", "SEM-09")),))
    catch = judge_defect(USAGE, run, CLEAN)
    assert catch.caught and catch.finding is not None and catch.finding.spec_id == "SEM-09"


def test_a_violation_with_another_spec_id_or_from_another_check_does_not_catch_it() -> None:
    other_id = RunView((result("semconv-values", "failed", finding("semconv-values", "SEM-11")),))
    other_check = RunView((result("semconv-values", "passed"), result("semconv", "failed", finding("semconv", "SEM-09"))))
    assert not judge_defect(USAGE, other_id, CLEAN).caught
    caught = judge_defect(USAGE, other_check, CLEAN)
    assert not caught.caught and "SEM-09" in caught.reason and caught.collateral == ("semconv",)


def test_a_warning_does_not_catch_a_defect_that_needs_a_violation() -> None:
    run = RunView((result("semconv-values", "passed", finding("semconv-values", "SEM-09", "warning")),))
    assert not judge_defect(USAGE, run, CLEAN).caught


def test_a_warning_catches_a_warning_defect_unless_the_clean_run_has_it_too() -> None:
    run = RunView((result("semconv", "passed", finding("semconv", "SEM-02", "warning")),))
    assert judge_defect(KIND, run, CLEAN).caught
    noisy_clean = RunView((result("semconv", "passed", finding("semconv", "SEM-02", "warning")),))
    assert not judge_defect(KIND, run, noisy_clean).caught


def test_a_suppressed_finding_still_catches_the_defect() -> None:
    run = RunView((result("semconv-values", "passed"),), suppressed=(finding("semconv-values", "SEM-09"),))
    assert judge_defect(USAGE, run, CLEAN).caught


def test_a_broken_run_catches_nothing_and_says_why() -> None:
    catch = judge_defect(USAGE, RunView(error="ProcessStartError: boom"), CLEAN)
    assert not catch.caught and "boom" in catch.reason


def test_a_clean_run_needs_its_target_checks_passed_and_no_other_check_failed() -> None:
    assert judge_clean("baseline", CLEAN, {"semconv", "semconv-values"}).ok
    inconclusive_target = RunView((result("semconv", "inconclusive", reason="no span"),))
    judged = judge_clean("baseline", inconclusive_target, {"semconv"})
    assert not judged.ok and "no span" in judged.problems[0]
    other_failed = RunView((result("semconv", "passed"), result("loss", "failed", finding("loss", "LOSS-01"))))
    assert not judge_clean("baseline", other_failed, {"semconv"}).ok


def test_an_inconclusive_check_outside_the_targets_leaves_the_clean_run_sound() -> None:
    run = RunView((result("semconv", "passed"), result("streaming", "inconclusive", reason="no pairs")))
    judged = judge_clean("baseline", run, {"semconv"})
    assert judged.ok and ("streaming", "inconclusive") in judged.outcomes


def test_a_missing_target_check_or_a_broken_clean_run_is_not_sound() -> None:
    assert not judge_clean("baseline", RunView((result("loss", "passed"),)), {"semconv"}).ok
    assert not judge_clean("baseline", RunView(error="x"), set()).ok


def test_the_selftest_passes_only_when_every_clean_run_is_sound_and_every_defect_caught() -> None:
    clean = judge_clean("baseline", CLEAN, {"semconv-values"})
    hit = judge_defect(USAGE, RunView((result("semconv-values", "failed", finding("semconv-values", "SEM-09")),)), CLEAN)
    miss = judge_defect(USAGE, RunView((result("semconv-values", "passed"),)), CLEAN)
    assert passed([clean], [hit])
    assert not passed([clean], [hit, miss])
    assert not passed([judge_clean("baseline", RunView(error="x"), set())], [hit])
    assert not passed([clean], [])


def test_a_timing_check_under_proof_may_be_inconclusive_but_never_failed_on_the_clean_run() -> None:
    lagging = RunView((result("isolation", "inconclusive", reason="generator health (LAT-03)"),))
    judged = judge_clean("isolation", lagging, {"isolation"})
    assert judged.ok and judged.notes == ("isolation is inconclusive: generator health (LAT-03)",)
    noisy = RunView((result("isolation", "failed", finding("isolation", "ISO-01")),))
    assert not judge_clean("isolation", noisy, {"isolation"}).ok
