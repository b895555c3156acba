"""Suppressions and the scenario verdict (RUN-01..RUN-03): a suppression hides what it matches, a
stale one is itself a violation, a reason is mandatory, inconclusive and error are never a pass,
and ``fail_on: warning`` makes warnings fail."""

from __future__ import annotations

import pytest

from testbed.checks.result import CheckResult, Finding, conclude
from testbed.checks.suppress import Suppression, parse_suppressions, verdict
from testbed.errors import ConfigError

V = Finding("SEM-09", "semconv-values", "violation", "value", "usage differs", {"attribute": "gen_ai.usage.input_tokens"})
W = Finding("SEM-23", "semconv", "warning", "deprecated", "deprecated gen_ai.system", {"attribute": "gen_ai.system"})


def result(*findings: Finding, reason: str = "") -> CheckResult:
    return conclude(findings[0].check if findings else "c", ("X",), findings, judged={"spans": 1}, inconclusive=reason)


def test_unsuppressed_violation_fails_the_scenario_RUN_01() -> None:
    assert verdict([result(V)]).status == "failed"


def test_matching_suppression_hides_the_violation_RUN_02() -> None:
    sup = Suppression("SEM-09", "known provider quirk", {"attribute": "gen_ai.usage.*"})
    v = verdict([result(V)], [sup])
    assert v.passed and v.suppressed == ((V, sup),)


def test_stale_suppression_is_a_violation_RUN_02() -> None:
    v = verdict([result(W)], [Suppression("SEM-09", "was needed once")])
    assert v.status == "failed"
    assert any(f.spec_id == "RUN-02" and f.severity == "violation" for r in v.results for f in r.findings)


def test_suppression_matching_another_attribute_does_not_hide_RUN_02() -> None:
    sup = Suppression("SEM-09", "other", {"attribute": "gen_ai.usage.output_tokens"})
    assert verdict([result(V)], [sup]).status == "failed"


def test_warnings_fail_only_under_fail_on_warning_RUN_01() -> None:
    assert verdict([result(W)]).passed
    assert verdict([result(W)], fail_on="warning").status == "failed"


def test_inconclusive_is_never_a_pass_RUN_03() -> None:
    v = verdict([result(W), result(reason="too few samples")])
    assert v.status == "inconclusive" and not v.passed and "too few samples" in v.reasons[0]


def test_error_result_is_not_a_pass() -> None:
    assert verdict([CheckResult("c", (), "error", (), "boom")]).status == "error"


def test_parse_accepts_the_documented_form() -> None:
    sups = parse_suppressions([{"spec_id": "SEM-09", "match": {"check": "semconv-values"}, "reason": "r"}])
    assert sups == (Suppression("SEM-09", "r", {"check": "semconv-values"}),)


@pytest.mark.parametrize(("data", "path"), [
    ([{"spec_id": "SEM-09", "match": {}}], "expected_findings[0].reason"),
    ([{"spec_id": "SEM-09", "reason": "  "}], "expected_findings[0].reason"),
    ([{"reason": "r"}], "expected_findings[0].spec_id"),
    ([{"spec_id": "SEM-09", "reason": "r", "extra": 1}], "expected_findings[0]"),
    ({"spec_id": "SEM-09"}, "expected_findings"),
], ids=["no-reason", "blank-reason", "no-spec-id", "unknown-key", "not-a-list"])
def test_bad_suppressions_are_refused_with_their_key_path_RUN_02(data: object, path: str) -> None:
    with pytest.raises(ConfigError, match=path.replace("[", r"\[").replace("]", r"\]")):
        parse_suppressions(data)


def test_a_suppressed_violation_never_lifts_a_check_that_judged_nothing_to_passed_RUN_03() -> None:
    blind = conclude("semconv-values", ("SEM-09",), [V], judged={"spans": 0})
    v = verdict([result(W), blind], [Suppression("SEM-09", "known quirk")])
    assert v.status == "inconclusive"
    assert next(r for r in v.results if r.check == "semconv-values").outcome == "inconclusive"


def test_a_not_applicable_check_leaves_the_verdict_to_the_others_RUN_03() -> None:
    na = conclude("streaming", ("SEM-14",), [], judged={"streams": 0}, not_applicable="no streamed request")
    assert na.outcome == "not_applicable"
    assert verdict([result(W), na]).status == "passed"
    assert verdict([result(V), na]).status == "failed"
