"""Suppressions and the scenario verdict (RUN-01..RUN-03): a suppression hides what it matches, a
stale one is itself a violation, a reason is mandatory, inconclusive and error are never a pass,
and ``fail_on: warning`` makes warnings fail."""

from __future__ import annotations

import pytest

from testbed.checks.result import CheckResult, Finding, conclude
from testbed.checks.suppress import Suppression, parse_suppressions, verdict
from testbed.schema.errors import SchemaError

V = Finding("SEM-09", "semconv-values", "violation", "value", "usage differs", {"attribute": "gen_ai.usage.input_tokens"})
W = Finding("SEM-23", "semconv", "warning", "deprecated", "deprecated gen_ai.system", {"attribute": "gen_ai.system"})


def result(*findings: Finding, reason: str = "") -> CheckResult:
    return conclude(findings[0].check if findings else "c", ("X",), findings, judged={"spans": 1}, inconclusive=reason)


def test_unsuppressed_violation_fails_the_scenario_RUN_01() -> None:
    assert verdict([result(V)]).status == "failed"


def test_matching_suppression_hides_the_violation_RUN_02() -> None:
    sup = Suppression(spec_id="SEM-09", reason="known provider quirk", match={"attribute": "gen_ai.usage.*"})
    v = verdict([result(V)], [sup])
    assert v.passed and v.suppressed == ((V, sup),)


def test_stale_suppression_is_a_violation_RUN_02() -> None:
    v = verdict([result(W)], [Suppression(spec_id="SEM-09", reason="was needed once")])
    assert v.status == "failed"
    assert any(f.spec_id == "RUN-02" and f.severity == "violation" for r in v.results for f in r.findings)


def test_suppression_matching_another_attribute_does_not_hide_RUN_02() -> None:
    sup = Suppression(spec_id="SEM-09", reason="other", match={"attribute": "gen_ai.usage.output_tokens"})
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
    assert sups == (Suppression(spec_id="SEM-09", reason="r", match={"check": "semconv-values"}),)


@pytest.mark.parametrize(("data", "path", "words"), [
    ([{"spec_id": "SEM-09", "match": {}}], "expected_findings[0].reason", "required key is missing"),
    ([{"spec_id": "SEM-09", "reason": "  "}], "expected_findings[0].reason", "a suppression needs a reason (RUN-02)"),
    ([{"reason": "r"}], "expected_findings[0].spec_id", "required key is missing"),
    ([{"spec_id": "sem 9", "reason": "r"}], "expected_findings[0].spec_id", "pattern"),
    ([{"spec_id": "SEM-09", "reason": "r", "extra": 1}], "expected_findings[0].extra", "unknown key 'extra'"),
    ([{"spec_id": "SEM-09", "reason": "r", "match": []}], "expected_findings[0].match", "expected a mapping"),
    ({"spec_id": "SEM-09"}, "expected_findings", "expected a list, got a mapping"),
], ids=["no-reason", "blank-reason", "no-spec-id", "not-a-spec-id", "unknown-key", "match-not-a-mapping", "not-a-list"])
def test_bad_suppressions_are_refused_with_file_and_key_path_RUN_02(data: object, path: str, words: str) -> None:
    with pytest.raises(SchemaError) as info:
        parse_suppressions(data, file="scenarios/x.yaml")
    assert (info.value.file, info.value.path) == ("scenarios/x.yaml", path)
    assert words in info.value.detail


def test_a_misspelt_suppression_key_gets_a_did_you_mean() -> None:
    with pytest.raises(SchemaError, match=r"scenarios/x.yaml: expected_findings\[1\].reasn: unknown key 'reasn'; "
                                          r"did you mean 'reason'\?"):
        parse_suppressions([{"spec_id": "SEM-09", "reason": "r"}, {"spec_id": "SEM-09", "reasn": "r"}],
                           file="scenarios/x.yaml")


def test_a_match_on_the_findings_convention_hides_only_that_conventions_findings() -> None:
    legacy = Finding("SEM-09", "semconv-values", "violation", "value", "usage differs", {}, convention="legacy")
    sup = Suppression(spec_id="SEM-09", reason="legacy quirk", match={"convention": "legacy"})
    assert sup.matches(legacy) and not sup.matches(V)


def test_a_suppressed_violation_never_lifts_a_check_that_judged_nothing_to_passed_RUN_03() -> None:
    blind = conclude("semconv-values", ("SEM-09",), [V], judged={"spans": 0})
    v = verdict([result(W), blind], [Suppression(spec_id="SEM-09", reason="known quirk")])
    assert v.status == "inconclusive"
    assert next(r for r in v.results if r.check == "semconv-values").outcome == "inconclusive"


def test_a_not_applicable_check_leaves_the_verdict_to_the_others_RUN_03() -> None:
    na = conclude("streaming", ("SEM-14",), [], judged={"streams": 0}, not_applicable="no streamed request")
    assert na.outcome == "not_applicable"
    assert verdict([result(W), na]).status == "passed"
    assert verdict([result(V), na]).status == "failed"
