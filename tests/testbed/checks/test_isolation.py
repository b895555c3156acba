"""Async isolation (ISO-01..ISO-04): p50/p90/p99 delta budgets per faulted mode, each with a seeded
bootstrap CI; failure rates per mode; the preconditions that make the check inconclusive: too few
samples, modes not in 3 blocks spread over the run (ISO-03), and send lag that differs between the
compared modes (LAT-03 c)."""

from __future__ import annotations

import random
from dataclasses import replace

from testbed.checks.evidence import Budgets, ClientRecord, Evidence, ScenarioSettings
from testbed.checks.isolation import IsolationCheck, blocks, budget_ns, unspread
from tests.testbed.checks.builders import ids

CHECK = IsolationCheck()
MS = 1_000_000


def interleaved(groups: dict[str, list[float]], n_blocks: int = 3, failures: dict[str, int] | None = None,
                lag_ns: dict[str, int] | None = None) -> list[ClientRecord]:
    """Each mode's latencies cut into ``n_blocks`` blocks, the modes taking turns block by block."""
    out, t = [], 0
    for b in range(n_blocks):
        for mode, lats in groups.items():
            size = len(lats) // n_blocks
            for i, lat in enumerate(lats[b * size:(b + 1) * size], start=b * size):
                failed = i < (failures or {}).get(mode, 0)
                lag = (lag_ns or {}).get(mode, 10_000)
                out.append(ClientRecord(f"{mode}-{i}", t, t + lag, mode=mode, complete_ns=t + int(lat * MS),
                                        status=500 if failed else 200))
                t += 10 * MS
    return out


def noisy(n: int, base: float, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [base + rng.random() for _ in range(n)]


def run(recs: list[ClientRecord], min_samples: int = 300) -> object:
    st = ScenarioSettings(name="iso", budgets=Budgets(iso_min_samples=min_samples, bootstrap_resamples=300, seed=7))
    return CHECK.run(Evidence(settings=st, client=tuple(recs)))


def test_budget_is_five_percent_of_the_healthy_percentile_or_one_ms_ISO_01() -> None:
    assert budget_ns(10 * MS) == 1 * MS
    assert budget_ns(100 * MS) == 5 * MS


def test_isolated_gateway_passes_with_p50_p90_p99_deltas_and_cis_ISO_01_ISO_03() -> None:
    result = run(interleaved({"healthy": noisy(450, 10, 1), "down": noisy(450, 10, 2)}))
    assert result.outcome == "passed", (result.reason, result.findings)
    row = result.details["modes"]["down.latency"]
    assert set(row) == {"p50", "p90", "p99"}
    assert all(row[p]["ci_low_ms"] <= row[p]["delta_ms"] <= row[p]["ci_high_ms"] for p in row)
    assert result.details["blocks"] == {"healthy": 3, "down": 3}


def test_latency_leaking_into_a_faulted_mode_is_a_violation_ISO_01() -> None:
    result = run(interleaved({"healthy": noisy(450, 10, 1), "slow": noisy(450, 30, 2)}))
    assert ("ISO-01", "violation") in ids(result) and result.outcome == "failed"


def test_a_shift_of_the_median_alone_is_caught_at_p50_ISO_01() -> None:
    healthy = [10.0] * 300 + [40.0] * 150
    shifted = [12.0] * 300 + [40.0] * 150  # same p90 and p99, median 2 ms higher
    result = run(interleaved({"healthy": healthy, "hang": shifted}))
    found = [f for f in result.findings if f.spec_id == "ISO-01"]
    assert found and all("p50" in f.message for f in found)


def test_a_slower_gateway_with_the_bus_down_breaks_ISO_04() -> None:
    result = run(interleaved({"healthy": noisy(450, 10, 1), "bus_down": noisy(450, 20, 2)}))
    assert ("ISO-04", "violation") in ids(result)


def test_delta_over_budget_whose_ci_spans_it_is_only_a_warning_ISO_03() -> None:
    tail = [10.0] * 888 + [12.0] * 12
    result = run(interleaved({"healthy": [10.0] * 900, "hang": tail}), min_samples=900)
    assert ("ISO-03", "warning") in ids(result)
    assert ("ISO-01", "violation") not in ids(result)


def test_extra_failures_in_a_faulted_mode_are_a_violation_ISO_02() -> None:
    result = run(interleaved({"healthy": noisy(450, 10, 1), "down": noisy(450, 10, 2)}, failures={"down": 1}))
    assert ("ISO-02", "violation") in ids(result)


def test_too_few_samples_is_inconclusive_ISO_03() -> None:
    result = run(interleaved({"healthy": noisy(150, 10, 1), "down": noisy(150, 10, 2)}))
    assert result.outcome == "inconclusive" and "300" in result.reason


def test_modes_in_fewer_than_three_blocks_are_inconclusive_ISO_03() -> None:
    recs = interleaved({"healthy": noisy(450, 10, 1), "down": noisy(450, 10, 2)}, n_blocks=2)
    result = run(recs)
    assert result.outcome == "inconclusive" and "3 blocks" in result.reason and "down (2 block(s)" in result.reason


def test_three_blocks_bunched_in_one_part_of_the_run_are_not_spread_ISO_03() -> None:
    recs = interleaved({"healthy": noisy(450, 10, 1), "down": noisy(450, 10, 2)})
    tail = [replace(r, mode="healthy", correlation_id=f"late-{i}", intended_ns=r.intended_ns + 10_000 * MS,
                    sent_ns=r.sent_ns + 10_000 * MS, complete_ns=(r.complete_ns or 0) + 10_000 * MS)
            for i, r in enumerate(recs)]
    assert unspread(recs) == []
    assert any(m.startswith("down") for m in unspread(recs + tail))


def test_blocks_are_read_from_the_records_in_intended_order_ISO_03() -> None:
    recs = interleaved({"healthy": [1.0] * 6, "down": [1.0] * 6})
    assert {m: len(b) for m, b in blocks(list(reversed(recs))).items()} == {"healthy": 3, "down": 3}


def test_send_lag_that_differs_between_modes_is_inconclusive_and_named_LAT_03() -> None:
    lats = {"healthy": noisy(450, 10, 1), "down": noisy(450, 10, 2)}
    result = run(interleaved(lats, lag_ns={"healthy": 50_000, "down": 400_000}))
    assert result.outcome == "inconclusive"
    assert "'down' (0.400 ms)" in result.reason and "'healthy' (0.050 ms)" in result.reason
    assert result.details["send_lag"]["down"]["p99_us"] == 400.0


def test_send_lag_shared_by_every_mode_cancels_out_LAT_03() -> None:
    lats = {"healthy": noisy(450, 10, 1), "down": noisy(450, 10, 2)}
    result = run(interleaved(lats, lag_ns={"healthy": 900_000, "down": 950_000}))
    assert result.outcome == "passed", result.reason


def test_missing_healthy_mode_is_inconclusive() -> None:
    assert run(interleaved({"down": noisy(30, 10, 2)})).outcome == "inconclusive"


def test_bootstrap_is_deterministic_for_a_seed_ISO_03() -> None:
    recs = interleaved({"healthy": noisy(450, 10, 1), "slow": noisy(450, 11, 2)})
    assert run(recs).details == run(recs).details


def test_a_small_excess_the_send_lag_could_explain_is_not_proven_LAT_03() -> None:
    recs = interleaved({"healthy": noisy(450, 10, 1), "slow": noisy(450, 14, 2)})
    lagging = [replace(r, sent_ns=r.intended_ns + 25 * MS) if i % 50 == 7 and r.mode == "slow" else r
               for i, r in enumerate(recs)]  # 9 slow sends 25 ms late: over 0.1% (LAT-03 b)
    result = run(lagging)
    assert result.outcome == "inconclusive" and "LAT-03 b" in result.reason
    assert not [f for f in result.findings if f.severity == "violation"]
    assert any("not proven" in f.message for f in result.findings if f.spec_id == "ISO-01")


def test_an_excess_beyond_any_send_lag_still_fails_LAT_03() -> None:
    recs = interleaved({"healthy": noisy(450, 10, 1), "slow": noisy(450, 200, 2)})
    lagging = [replace(r, sent_ns=r.intended_ns + 25 * MS) if i % 50 == 7 and r.mode == "slow" else r
               for i, r in enumerate(recs)]
    result = run(lagging)
    assert result.outcome == "failed" and ("ISO-01", "violation") in ids(result)
