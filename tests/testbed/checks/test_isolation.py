"""Async isolation (ISO-01..ISO-03): p99 delta budgets per faulted mode with a seeded bootstrap
CI, failure rates per mode, and the minimum-sample precondition (lowered here for speed; the
result reports the minimum used)."""

from __future__ import annotations

import random

from testbed.checks.evidence import Budgets, ClientRecord, Evidence, ScenarioSettings
from testbed.checks.isolation import IsolationCheck, budget_ns
from tests.testbed.checks.builders import ids

CHECK = IsolationCheck()
MS = 1_000_000


def records(mode: str, latencies_ms: list[float], start: int = 0, failures: int = 0) -> list[ClientRecord]:
    out = []
    for i, lat in enumerate(latencies_ms):
        t = (start + i) * 10 * MS
        out.append(ClientRecord(f"{mode}-{i}", t, t + 10_000, mode=mode, complete_ns=t + int(lat * MS),
                                status=500 if i < failures else 200))
    return out


def noisy(n: int, base: float, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [base + rng.random() for _ in range(n)]


def run(*groups: list[ClientRecord], min_samples: int = 400) -> object:
    st = ScenarioSettings(name="iso", budgets=Budgets(iso_min_samples=min_samples, bootstrap_resamples=300, seed=7))
    return CHECK.run(Evidence(settings=st, client=tuple(r for g in groups for r in g)))


def test_budget_is_five_percent_of_healthy_p99_or_one_ms_ISO_01() -> None:
    assert budget_ns(10 * MS) == 1 * MS
    assert budget_ns(100 * MS) == 5 * MS


def test_isolated_gateway_passes_and_reports_the_minimum_used_ISO_01() -> None:
    result = run(records("healthy", noisy(500, 10, 1)), records("down", noisy(500, 10, 2), 1000))
    assert result.outcome == "passed", result.findings
    assert result.details["min_samples"] == 400
    assert "down.latency" in result.details["modes"]


def test_latency_leaking_into_a_faulted_mode_is_a_violation_ISO_01() -> None:
    result = run(records("healthy", noisy(500, 10, 1)), records("slow", noisy(500, 30, 2), 1000))
    assert ("ISO-01", "violation") in ids(result) and result.outcome == "failed"


def test_delta_over_budget_whose_ci_spans_it_is_only_a_warning_ISO_03() -> None:
    tail = [10.0] * 985 + [12.0] * 15
    result = run(records("healthy", [10.0] * 1000), records("hang", tail, 2000), min_samples=1000)
    assert ("ISO-03", "warning") in ids(result)
    assert ("ISO-01", "violation") not in ids(result)


def test_extra_failures_in_a_faulted_mode_are_a_violation_ISO_02() -> None:
    result = run(records("healthy", noisy(500, 10, 1)), records("down", noisy(500, 10, 2), 1000, failures=1))
    assert ("ISO-02", "violation") in ids(result)


def test_too_few_samples_is_inconclusive_ISO_03() -> None:
    result = run(records("healthy", noisy(50, 10, 1)), records("down", noisy(50, 10, 2), 100))
    assert result.outcome == "inconclusive" and "400" in result.reason


def test_missing_healthy_mode_is_inconclusive() -> None:
    assert run(records("down", noisy(10, 10, 2))).outcome == "inconclusive"


def test_bootstrap_is_deterministic_for_a_seed_ISO_03() -> None:
    groups = (records("healthy", noisy(500, 10, 1)), records("slow", noisy(500, 11, 2), 1000))
    assert run(*groups).details == run(*groups).details
