"""Latency method and budgets (SPEC 8): LAT-02..LAT-07.

Latency is ``complete − intended`` (LAT-02), so a stalled generator cannot hide queueing. Gateway
requests are compared with direct requests interleaved in the same run (LAT-04); overhead at
p50/p90/p99/p99.9 is reported, with the ratio. A declared budget (LAT-07), absolute or relative to
a comparator path, turns an excess into a violation; without budgets the check only reports.
The generator's own health (LAT-03) is a precondition: if it lagged, the run is inconclusive.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from testbed.checks.evidence import ClientRecord, Evidence
from testbed.checks.result import CheckResult, FindingSink, conclude
from testbed.load.histogram import PERCENTILES, LatencyHistogram

NAME = "latency"
SPEC_IDS = ("LAT-02", "LAT-03", "LAT-04", "LAT-05", "LAT-06", "LAT-07")
SEND_LAG_P99_MAX_NS = 1_000_000
SEND_LAG_MAX_NS = 10_000_000


@dataclass(frozen=True, slots=True)
class Health:
    """LAT-03 verdict on the generator: ``problem`` is empty when it kept up."""

    problem: str
    send_lag_p99_us: int
    send_lag_max_us: int


def generator_health(records: Sequence[ClientRecord]) -> Health:
    lags = LatencyHistogram()
    worst = 0
    for r in records:
        lag = max(r.send_lag_ns, 0)
        worst = max(worst, lag)
        lags.record_ns(max(lag, 1000))
    p99_us = lags.percentile_us(99) if lags.count else 0
    problem = ""
    if any(r.cap_hit for r in records):
        problem = "the outstanding-request cap was hit"
    elif worst > SEND_LAG_MAX_NS:
        problem = f"a send lag of {worst / 1e6:.1f} ms exceeds 10 ms"
    elif p99_us * 1000 > SEND_LAG_P99_MAX_NS:
        problem = f"send-lag p99 {p99_us / 1000:.2f} ms exceeds 1 ms"
    return Health(problem, p99_us, worst // 1000)


def after_warmup(records: Iterable[ClientRecord], warmup_s: float) -> list[ClientRecord]:
    """LAT-06: drop requests whose intended start falls in the first ``warmup_s`` seconds."""
    recs = list(records)
    if not recs:
        return []
    cut = min(r.intended_ns for r in recs) + int(warmup_s * 1e9)
    return [r for r in recs if r.intended_ns >= cut]


def histogram_of(records: Iterable[ClientRecord]) -> LatencyHistogram:
    h = LatencyHistogram()
    h.record_many_ns(r.latency_ns for r in records if r.ok and r.latency_ns is not None)
    return h


class LatencyCheck:
    name = NAME
    spec_ids = SPEC_IDS

    def run(self, evidence: Evidence) -> CheckResult:
        st = evidence.settings
        sink = FindingSink(NAME, st.profile, st.name)
        recs = after_warmup(evidence.client, st.budgets.warmup_s)
        hists = {p: histogram_of(r for r in recs if r.path == p) for p in ("gateway", "direct", "comparator")}
        health = generator_health(recs)
        details: dict[str, object] = {
            "paths": {p: {**h.summary().to_json(), "encoded": h.encode()} for p, h in hists.items() if h.count},
            "send_lag_p99_us": health.send_lag_p99_us, "send_lag_max_us": health.send_lag_max_us,
        }
        if not hists["gateway"].count or not hists["direct"].count:
            return conclude(NAME, SPEC_IDS, [], details=details, judged={"requests": 0},
                            inconclusive="LAT-04 needs completed gateway and direct requests after warm-up")
        overhead = {str(p): (hists["gateway"].percentile_us(p) - hists["direct"].percentile_us(p)) / 1000
                    for p in PERCENTILES}
        details["overhead_ms"] = overhead
        details["ratio"] = {str(p): hists["gateway"].percentile_us(p) / max(hists["direct"].percentile_us(p), 1)
                            for p in PERCENTILES}
        comparator = hists["comparator"]
        for b in st.budgets.latency:
            over_ms = (hists["gateway"].percentile_us(b.percentile) - hists["direct"].percentile_us(b.percentile)) / 1000
            if b.overhead_ms is not None and over_ms > b.overhead_ms:
                sink.add("LAT-07", "violation", "timing", f"overhead p{b.percentile:g} exceeds its budget",
                         expected=b.overhead_ms, actual=round(over_ms, 3))
            if b.comparator_ratio is not None:
                _relative(b.percentile, b.comparator_ratio, over_ms, hists, comparator, sink)
        if not st.budgets.latency:
            sink.add("LAT-04", "info", "timing", "overhead reported; no budget declared",
                     actual={k: round(v, 3) for k, v in overhead.items()})
        judged = {"gateway_requests": hists["gateway"].count, "direct_requests": hists["direct"].count}
        return conclude(NAME, SPEC_IDS, sink.findings, judged=judged, inconclusive=health.problem, details=details)


def _relative(p: float, ratio: float, over_ms: float, hists: dict[str, LatencyHistogram],
              comparator: LatencyHistogram, sink: FindingSink) -> None:
    if not comparator.count:
        sink.add("LAT-07", "warning", "missing", "a relative budget names a comparator that has no samples")
        return
    comp_ms = (comparator.percentile_us(p) - hists["direct"].percentile_us(p)) / 1000
    limit = ratio * max(comp_ms, 0.0)
    if over_ms > limit:
        sink.add("LAT-07", "violation", "timing", f"overhead p{p:g} exceeds {ratio:g} x the comparator's",
                 expected=round(limit, 3), actual=round(over_ms, 3))
