"""Async isolation (SPEC 7): telemetry trouble must not slow or fail inference. ISO-01..04.

Client records are grouped by the ingest (or bus, ISO-04) mode active at their intended start
(``mode``). For each faulted mode and each of p50, p90 and p99 of client-visible latency (and of
TTFT for streams) the delta to the healthy mode is compared with the budget
max(5% × pX(healthy), 1 ms) (ISO-01). One seeded bootstrap per mode and metric gives a 95% CI of
each delta (ISO-03): a violation when the CI lower bound exceeds the budget, a warning when only
the point estimate does. Failure rates must not rise (ISO-02).

Preconditions, each making the check inconclusive with the reason (RUN-03): every mode has the
minimum of completed requests (300 by default, ISO-03); every mode appears in at least 3 blocks
spread over the run, one in each third, so slow drift of the machine falls on every mode alike
(ISO-03); and the generator was healthy (LAT-03), judged between each faulted mode and healthy
against 20% of the smallest budget.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Final

from testbed.checks.evidence import ClientRecord, Evidence
from testbed.checks.latency import generator_health, unproven
from testbed.checks.result import CheckResult, FindingSink, conclude
from testbed.load.stats import bootstrap_percentile_deltas
from testbed.percentiles import percentile

NAME = "isolation"
SPEC_IDS = ("ISO-01", "ISO-02", "ISO-03", "ISO-04", "LAT-03")
HEALTHY = "healthy"
PERCENTILES: Final = (50.0, 90.0, 99.0)
MIN_BLOCKS: Final = 3
BUDGET_FLOOR_NS: Final = 1_000_000.0
Metric = Callable[[ClientRecord], "int | None"]


def budget_ns(healthy_px_ns: float) -> float:
    """ISO-01: max(5% × pX(healthy), 1 ms)."""
    return max(0.05 * healthy_px_ns, BUDGET_FLOOR_NS)


def blocks(records: Sequence[ClientRecord]) -> dict[str, list[tuple[int, int]]]:
    """Per mode, its blocks as (first, last) intended times: runs of consecutive requests (by
    intended time) in one mode. Taken from the records, so it shows what the run really did."""
    out: dict[str, list[tuple[int, int]]] = defaultdict(list)
    prev = None
    for r in sorted(records, key=lambda r: r.intended_ns):
        if r.mode != prev:
            out[r.mode].append((r.intended_ns, r.intended_ns))
            prev = r.mode
        else:
            first, _ = out[r.mode][-1]
            out[r.mode][-1] = (first, r.intended_ns)
    return dict(out)


def unspread(records: Sequence[ClientRecord]) -> list[str]:
    """ISO-03: modes with fewer than 3 blocks, or whose blocks do not reach every third of the run."""
    bl = blocks(records)
    if not bl:
        return []
    start = min(b[0] for bs in bl.values() for b in bs)
    end = max(b[1] for bs in bl.values() for b in bs)
    span = max(end - start, 1)
    bad = []
    for mode, bs in sorted(bl.items()):
        thirds = {min(int(3 * ((a + b) / 2 - start) / span), 2) for a, b in bs}
        if len(bs) < MIN_BLOCKS or len(thirds) < 3:
            bad.append(f"{mode} ({len(bs)} block(s) in {len(thirds)} third(s))")
    return bad


class IsolationCheck:
    name = NAME
    spec_ids = SPEC_IDS

    def run(self, evidence: Evidence) -> CheckResult:
        b = evidence.settings.budgets
        sink = FindingSink(NAME, evidence.settings.convention, evidence.settings.name)
        gateway = [r for r in evidence.client if r.path == "gateway"]
        modes: dict[str, list[ClientRecord]] = defaultdict(list)
        for r in gateway:
            modes[r.mode].append(r)
        details: dict[str, object] = {"min_samples": b.iso_min_samples, "modes": {}}
        healthy = modes.get(HEALTHY, [])
        faulted = sorted(m for m in modes if m != HEALTHY)
        if not healthy or not faulted:
            return conclude(NAME, SPEC_IDS, [], details=details, judged={"requests": 0},
                            inconclusive="ISO needs a healthy mode and at least one faulted mode")
        details["blocks"] = {m: len(bs) for m, bs in blocks(gateway).items()}
        short = [m for m in [HEALTHY, *faulted] if _completed(modes[m]) < b.iso_min_samples]
        _failure_rates(healthy, faulted, modes, sink)
        smallest = math.inf
        for m in faulted:
            if m in short or HEALTHY in short:
                continue
            for metric, fn in (("latency", _latency), ("ttft", _ttft)):
                row = _compare(m, metric, fn, healthy, modes[m], b.bootstrap_resamples, b.seed, sink)
                if row is not None:
                    details["modes"][f"{m}.{metric}"] = row  # type: ignore[index]
                    smallest = min(smallest, *(row[f"p{p:g}"]["budget_ms"] for p in PERCENTILES))
        limit = smallest * 1e6 if smallest < math.inf else budget_ns(0)
        health = generator_health(dict(modes), [(m, HEALTHY) for m in faulted], limit)
        details["send_lag"] = health.to_json()
        judged = {"requests": sum(_completed(modes[m]) for m in [HEALTHY, *faulted]), "modes": len(faulted) + 1}
        findings = unproven(sink.findings, frozenset({"ISO-01", "ISO-04"}), health, faulted)
        return conclude(NAME, SPEC_IDS, findings, judged=judged, details=details,
                        inconclusive=_reason(short, unspread(gateway), b.iso_min_samples, health.problem))


def _reason(short: list[str], unspread_modes: list[str], minimum: int, lag_problem: str) -> str:
    if short:
        return f"fewer than {minimum} completed requests in mode(s) {', '.join(short)} (ISO-03)"
    if unspread_modes:
        return (f"every mode needs {MIN_BLOCKS} blocks, one in each third of the run (ISO-03): "
                f"{', '.join(unspread_modes)}")
    return f"generator health: {lag_problem}" if lag_problem else ""


def _completed(records: list[ClientRecord]) -> int:
    return sum(1 for r in records if r.complete_ns is not None)


def _latency(r: ClientRecord) -> int | None:
    return r.latency_ns if r.ok else None


def _ttft(r: ClientRecord) -> int | None:
    return r.ttft_ns if r.ok and r.stream else None


def _compare(mode: str, metric: str, fn: Metric, healthy: list[ClientRecord], faulted: list[ClientRecord],
             resamples: int, seed: int, sink: FindingSink) -> dict[str, dict[str, float]] | None:
    """ISO-01/ISO-03 for one mode and metric: p50, p90 and p99 deltas with their CIs."""
    h = [v for v in map(fn, healthy) if v is not None]
    f = [v for v in map(fn, faulted) if v is not None]
    if not h or not f:
        return None
    cis = bootstrap_percentile_deltas(h, f, PERCENTILES, resamples=resamples, seed=seed)
    out = {}
    for p, ci in cis.items():
        limit = budget_ns(percentile(h, p))
        out[f"p{p:g}"] = {"healthy_ms": percentile(h, p) / 1e6, "mode_ms": percentile(f, p) / 1e6,
                          "delta_ms": ci.point / 1e6, "ci_low_ms": ci.low / 1e6, "ci_high_ms": ci.high / 1e6,
                          "budget_ms": limit / 1e6}
        figures = {"expected": round(limit / 1e6, 3), "actual": round(ci.point / 1e6, 3),
                   "ci_low": round(ci.low / 1e6, 3), "ci_high": round(ci.high / 1e6, 3)}
        rule = "ISO-04" if mode == "bus_down" else "ISO-01"
        if ci.low > limit:
            sink.add(rule, "violation", "timing", f"{metric} p{p:g} under '{mode}' exceeds the isolation budget",
                     **figures)
        elif ci.point > limit:
            sink.add("ISO-03", "warning", "timing",
                     f"{metric} p{p:g} delta under '{mode}' exceeds the budget but its CI lower bound does not",
                     **figures)
    return out


def _failure_rates(healthy: list[ClientRecord], faulted: list[str], modes: Mapping[str, list[ClientRecord]],
                   sink: FindingSink) -> None:
    rate = sum(1 for r in healthy if not r.ok) / len(healthy)
    for m in faulted:
        recs = modes[m]
        failed = sum(1 for r in recs if not r.ok)
        allowed = math.ceil(rate * len(recs))
        if failed > allowed:
            sink.add("ISO-02", "violation", "value", f"{failed - allowed} extra failure(s) under '{m}'",
                     expected=allowed, actual=failed)
