"""RUN-03, enforced centrally: no check can pass on nothing. Every registered check, fed empty
evidence (and evidence with every span gone), ends ``inconclusive`` or ``not_applicable`` and
states its judged counts; a result built as ``passed`` with zero judged items is turned into
``inconclusive`` whoever built it, so a new check that forgets to count cannot pass."""

from __future__ import annotations

from dataclasses import replace

import pytest

from testbed.checks import DESCRIPTIONS, REGISTRY, run_check
from testbed.checks.evidence import Canary, Evidence, ScenarioSettings
from testbed.checks.result import CheckResult, conclude, judged_text
from tests.testbed.checks.builders import evidence

NOT_A_PASS = ("inconclusive", "not_applicable")
SETTINGS = [ScenarioSettings(), ScenarioSettings(exclude_request_data=True),
            ScenarioSettings(reference_gateway=True, expects_server_span=True)]


@pytest.mark.parametrize("name", sorted(REGISTRY))
@pytest.mark.parametrize("settings", SETTINGS, ids=["default", "redaction-on", "reference"])
def test_every_check_fed_empty_evidence_is_inconclusive_or_not_applicable(name: str, settings: ScenarioSettings) -> None:
    result = run_check(REGISTRY[name], Evidence(settings=settings))
    assert result.outcome in NOT_A_PASS, (result.outcome, result.reason)
    assert result.reason and result.judged_total == 0


SPAN_CHECKS = ("semconv", "semconv-values", "gateway-spans", "streaming", "propagation", "redaction")


@pytest.mark.parametrize("name", SPAN_CHECKS)
def test_every_span_check_with_requests_but_zero_spans_does_not_pass(name: str) -> None:
    ev = replace(evidence(3, stream=True, exclude_request_data=True), spans=(),
                 canaries=(Canary("CNRY-USR-0123456789abcdef0123", "USR", "req-0"),))
    result = run_check(REGISTRY[name], ev)
    assert result.outcome != "passed", (result.outcome, result.judged)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_check_reports_its_judged_counts(name: str) -> None:
    result = run_check(REGISTRY[name], evidence(3, stream=True))
    assert result.judged and all(isinstance(v, int) for v in result.judged.values())


def test_a_result_built_as_passed_with_nothing_judged_becomes_inconclusive() -> None:
    forgot = CheckResult("new-check", ("X-01",), "passed")
    assert forgot.outcome == "inconclusive" and "RUN-03" in forgot.reason
    assert CheckResult("new-check", ("X-01",), "passed", judged={"spans": 0}).outcome == "inconclusive"
    assert CheckResult("new-check", ("X-01",), "passed", judged={"spans": 2}).outcome == "passed"


def test_conclude_needs_a_reason_to_say_not_applicable() -> None:
    assert conclude("c", (), [], judged={"streams": 0}).outcome == "inconclusive"
    na = conclude("c", (), [], judged={"streams": 0}, not_applicable="no streamed request")
    assert na.outcome == "not_applicable" and na.reason == "no streamed request"


def test_a_proven_violation_fails_even_when_the_rest_was_not_judged() -> None:
    from testbed.checks.result import Finding

    v = Finding("SEM-18", "streaming", "violation", "missing", "no span")
    assert conclude("c", (), [v], judged={"streams": 0}, not_applicable="n/a").outcome == "failed"


def test_judged_counts_read_as_a_phrase() -> None:
    assert judged_text({"spans": 42, "retry_chains": 20}) == "42 spans, 20 retry chains"


def test_every_registered_check_says_in_one_line_what_it_verifies() -> None:
    assert set(DESCRIPTIONS) == set(REGISTRY)
    assert all(0 < len(d) <= 110 and "\n" not in d for d in DESCRIPTIONS.values())
