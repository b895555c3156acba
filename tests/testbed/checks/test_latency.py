"""Latency method (LAT-02..LAT-07): overhead of gateway over interleaved direct requests, absolute
and comparator-relative budgets, warm-up exclusion, and generator health making a run inconclusive."""

from __future__ import annotations

from dataclasses import replace

from testbed.checks.evidence import Budgets, ClientRecord, Evidence, LatencyBudget, ScenarioSettings
from testbed.checks.latency import LatencyCheck, after_warmup, generator_health
from tests.testbed.checks.builders import ids

CHECK = LatencyCheck()
MS = 1_000_000


def interleaved(n: int, gateway_ms: float, direct_ms: float, comparator_ms: float | None = None,
                lag_ns: int = 10_000) -> list[ClientRecord]:
    paths = [("gateway", gateway_ms), ("direct", direct_ms)] + ([("comparator", comparator_ms)] if comparator_ms else [])
    out = []
    for i in range(n):
        path, lat = paths[i % len(paths)]
        t = i * 5 * MS
        out.append(ClientRecord(f"r{i}", t, t + lag_ns, path=path, complete_ns=t + int((lat + (i % 7) * 0.1) * MS),
                                status=200))
    return out


def run(recs: list[ClientRecord], *budgets: LatencyBudget) -> object:
    st = ScenarioSettings(name="lat", budgets=Budgets(latency=budgets, warmup_s=0.0))
    return CHECK.run(Evidence(settings=st, client=tuple(recs)))


def test_without_budget_overhead_is_reported_and_nothing_fails_LAT_07() -> None:
    result = run(interleaved(300, 12, 10))
    assert result.outcome == "passed" and ("LAT-04", "info") in ids(result)
    assert 1.5 < result.details["overhead_ms"]["99.0"] < 2.5
    assert result.details["paths"]["gateway"]["encoded"]


def test_absolute_budget_exceeded_is_a_violation_LAT_07() -> None:
    assert ("LAT-07", "violation") in ids(run(interleaved(300, 15, 10), LatencyBudget(99, overhead_ms=3)))
    assert run(interleaved(300, 12, 10), LatencyBudget(99, overhead_ms=3)).outcome == "passed"


def test_relative_budget_against_a_comparator_LAT_07() -> None:
    bad = run(interleaved(300, 20, 10, comparator_ms=12), LatencyBudget(50, comparator_ratio=1.25))
    good = run(interleaved(300, 12, 10, comparator_ms=12), LatencyBudget(50, comparator_ratio=1.25))
    assert ("LAT-07", "violation") in ids(bad) and good.outcome == "passed"


def test_send_lag_makes_the_run_inconclusive_LAT_03() -> None:
    result = run(interleaved(300, 12, 10, lag_ns=2 * MS))
    assert result.outcome == "inconclusive" and "send-lag" in result.reason
    assert generator_health(interleaved(10, 1, 1, lag_ns=20 * MS)).problem.startswith("a send lag")


def test_outstanding_cap_hit_makes_the_run_inconclusive_LAT_03() -> None:
    recs = interleaved(300, 12, 10)
    recs[5] = replace(recs[5], cap_hit=True)
    assert "cap" in run(recs).reason


def test_latency_counts_from_the_intended_start_LAT_02() -> None:
    r = ClientRecord("x", intended_ns=0, sent_ns=4 * MS, complete_ns=10 * MS, status=200)
    assert r.latency_ns == 10 * MS and r.send_lag_ns == 4 * MS


def test_warm_up_requests_are_excluded_LAT_06() -> None:
    recs = interleaved(10, 12, 10)
    kept = after_warmup(recs, 0.02)
    assert [r.correlation_id for r in kept] == [f"r{i}" for i in range(4, 10)]


def test_missing_direct_path_is_inconclusive_LAT_04() -> None:
    recs = [r for r in interleaved(50, 12, 10) if r.path == "gateway"]
    assert run(recs).outcome == "inconclusive"
