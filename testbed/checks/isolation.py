"""Async isolation (SPEC 7): telemetry trouble must not slow or fail inference. ISO-01..03.

Client records are grouped by the ingest mode active at their intended start (``mode``). For
each faulted mode the p99 of client-visible latency (and of TTFT for streams) is compared with
the healthy p99 against the budget max(5% × p99(healthy), 1 ms). A seeded bootstrap CI of the
delta decides the severity (ISO-03): violation when the CI lower bound exceeds the budget,
warning when only the point estimate does. Failure rates must not rise (ISO-02). Modes with
fewer completed requests than the minimum (default 1,000; a scenario may lower it, and the
result reports the value used) make the check inconclusive.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable

from testbed.checks.evidence import ClientRecord, Evidence
from testbed.checks.latency import generator_health
from testbed.checks.result import CheckResult, FindingSink, conclude
from testbed.load.stats import bootstrap_delta, percentile

NAME = "isolation"
SPEC_IDS = ("ISO-01", "ISO-02", "ISO-03")
HEALTHY = "healthy"


def budget_ns(healthy_p99_ns: float) -> float:
    """ISO-01: max(5% × p99(healthy), 1 ms)."""
    return max(0.05 * healthy_p99_ns, 1_000_000.0)


class IsolationCheck:
    name = NAME
    spec_ids = SPEC_IDS

    def run(self, evidence: Evidence) -> CheckResult:
        st = evidence.settings
        b = st.budgets
        sink = FindingSink(NAME, st.profile, st.name)
        modes: dict[str, list[ClientRecord]] = defaultdict(list)
        for r in evidence.client:
            if r.path == "gateway":
                modes[r.mode].append(r)
        details: dict[str, object] = {"min_samples": b.iso_min_samples, "modes": {}}
        healthy = modes.get(HEALTHY, [])
        faulted = sorted(m for m in modes if m != HEALTHY)
        if not healthy or not faulted:
            return conclude(NAME, SPEC_IDS, [], details=details, judged={"requests": 0},
                            inconclusive="ISO needs a healthy mode and at least one faulted mode")
        short = [m for m in [HEALTHY, *faulted] if _completed(modes[m]) < b.iso_min_samples]
        _failure_rates(healthy, faulted, modes, sink)
        for m in faulted:
            if m in short or HEALTHY in short:
                continue
            for metric, fn in (("latency", _latency), ("ttft", _ttft)):
                details["modes"][f"{m}.{metric}"] = _compare(m, metric, fn, healthy, modes[m], b.bootstrap_resamples, b.seed, sink)
        reason = ""
        if short:
            reason = f"fewer than {b.iso_min_samples} completed requests in mode(s) {', '.join(short)} (ISO-03)"
        health = generator_health([r for rs in modes.values() for r in rs])
        reason = reason or (f"generator health (LAT-03): {health.problem}" if health.problem else "")
        judged = {"requests": sum(_completed(modes[m]) for m in [HEALTHY, *faulted]), "modes": len(faulted) + 1}
        return conclude(NAME, SPEC_IDS, sink.findings, judged=judged, inconclusive=reason, details=details)


def _completed(records: list[ClientRecord]) -> int:
    return sum(1 for r in records if r.complete_ns is not None)


def _latency(r: ClientRecord) -> int | None:
    return r.latency_ns if r.ok else None


def _ttft(r: ClientRecord) -> int | None:
    return r.ttft_ns if r.ok and r.stream else None


def _compare(mode: str, metric: str, fn: Callable[[ClientRecord], int | None], healthy: list[ClientRecord],
             faulted: list[ClientRecord], resamples: int, seed: int, sink: FindingSink) -> dict[str, float] | None:
    h = [v for v in map(fn, healthy) if v is not None]
    f = [v for v in map(fn, faulted) if v is not None]
    if not h or not f:
        return None
    ci = bootstrap_delta(h, f, resamples=resamples, seed=seed)
    limit = budget_ns(percentile(h, 99))
    out = {"p50_healthy_ms": percentile(h, 50) / 1e6, "p50_mode_ms": percentile(f, 50) / 1e6,
           "p99_delta_ms": ci.point / 1e6, "ci_low_ms": ci.low / 1e6, "ci_high_ms": ci.high / 1e6,
           "budget_ms": limit / 1e6}
    if ci.low > limit:
        sink.add("ISO-01", "violation", "timing", f"{metric} p99 under '{mode}' exceeds the isolation budget",
                 expected=round(limit / 1e6, 3), actual=round(ci.point / 1e6, 3), ci_low=round(ci.low / 1e6, 3))
    elif ci.point > limit:
        sink.add("ISO-03", "warning", "timing",
                 f"{metric} p99 delta under '{mode}' exceeds the budget but its CI lower bound does not",
                 expected=round(limit / 1e6, 3), actual=round(ci.point / 1e6, 3), ci_low=round(ci.low / 1e6, 3))
    return out


def _failure_rates(healthy: list[ClientRecord], faulted: list[str], modes: dict[str, list[ClientRecord]],
                   sink: FindingSink) -> None:
    rate = sum(1 for r in healthy if not r.ok) / len(healthy)
    for m in faulted:
        recs = modes[m]
        failed = sum(1 for r in recs if not r.ok)
        allowed = math.ceil(rate * len(recs))
        if failed > allowed:
            sink.add("ISO-02", "violation", "value", f"{failed - allowed} extra failure(s) under '{m}'",
                     expected=allowed, actual=failed)
