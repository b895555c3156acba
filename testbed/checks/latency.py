"""Latency method and budgets (SPEC 8): LAT-02..LAT-07.

Latency is ``complete − intended`` (LAT-02), so a stalled generator cannot hide queueing. Gateway
requests are compared with direct requests interleaved in the same run (LAT-04); overhead at
p50/p90/p99/p99.9 is reported, with the ratio. A declared budget (LAT-07), absolute or relative to
a comparator path, turns an excess into a violation; without budgets the check only reports.
The generator's own health (LAT-03) is a precondition: the run is inconclusive when the
outstanding cap was hit, when more than 0.1% of sends lagged over 10 ms, or when the paths'
send-lag p99 differ by more than 20% of the smallest budget judged. Send-lag p50/p99/max per path
are always in the details.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from testbed.checks.evidence import ClientRecord, Evidence, LatencyBudget
from testbed.checks.result import CheckResult, Finding, FindingSink, conclude
from testbed.load.histogram import PERCENTILES, LatencyHistogram
from testbed.load.lag import LagSummary, lag_by_group
from testbed.load.stats import DeltaCI, bootstrap_percentile_deltas, bootstrap_statistic
from testbed.percentiles import ranked

NAME = "latency"
SPEC_IDS = ("LAT-02", "LAT-03", "LAT-04", "LAT-05", "LAT-06", "LAT-07")
SLOW_SEND_SHARE: Final = 0.001
"""LAT-03 (b): more than 0.1% of sends lagging over 10 ms makes the run inconclusive."""
LAG_SHARE_OF_BUDGET: Final = 0.2
"""LAT-03 (c): compared groups' send-lag p99 may differ by at most 20% of the budget judged."""


@dataclass(frozen=True, slots=True)
class Health:
    """LAT-03 verdict on the generator: ``problem`` is empty when it kept up; ``lag`` has the
    send-lag figures of every group, reported whatever the verdict."""

    problem: str
    lag: dict[str, LagSummary]

    def to_json(self) -> dict[str, Any]:
        return {name: s.to_json() for name, s in self.lag.items()}


def generator_health(groups: Mapping[str, Sequence[ClientRecord]], pairs: Sequence[tuple[str, str]] = (),
                     budget_ns: float | None = None) -> Health:
    """LAT-03: inconclusive only when (a) the outstanding cap was hit, (b) more than 0.1% of all
    sends lagged over 10 ms, or (c) two compared groups' send-lag p99 differ by more than 20% of
    ``budget_ns``. A lag shared by every group cancels out (latency runs from the intended time).
    The problem names the groups and the figures."""
    lag = lag_by_group(groups)
    return Health(_cap_problem(lag) or _slow_problem(lag) or _skew_problem(lag, pairs, budget_ns), lag)


def _cap_problem(lag: Mapping[str, LagSummary]) -> str:
    hits = {g: s.cap_hits for g, s in lag.items() if s.cap_hits}
    if not hits:
        return ""
    where = ", ".join(f"{g} {n}" for g, n in hits.items())
    return f"the outstanding-request cap was hit {sum(hits.values())} time(s) ({where}) (LAT-03 a)"


def _slow_problem(lag: Mapping[str, LagSummary]) -> str:
    total = sum(s.count for s in lag.values())
    slow = sum(s.slow for s in lag.values())
    if not total or slow <= SLOW_SEND_SHARE * total:
        return ""
    where = ", ".join(f"{g} {s.slow} of {s.count}, max {s.max_ns / 1e6:.1f} ms" for g, s in lag.items() if s.slow)
    return (f"{slow} of {total} sends ({100 * slow / total:.2f}%) lagged more than 10 ms, over the 0.1% "
            f"allowed ({where}) (LAT-03 b)")


def _skew_problem(lag: Mapping[str, LagSummary], pairs: Sequence[tuple[str, str]], budget_ns: float | None) -> str:
    if budget_ns is None or budget_ns <= 0:
        return ""
    limit = LAG_SHARE_OF_BUDGET * budget_ns
    for a, b in pairs:
        if a not in lag or b not in lag or not lag[a].count or not lag[b].count:
            continue
        diff = abs(lag[a].p99_ns - lag[b].p99_ns)
        if diff > limit:
            return (f"send-lag p99 differs between '{a}' ({lag[a].p99_ns / 1e6:.3f} ms) and '{b}' "
                    f"({lag[b].p99_ns / 1e6:.3f} ms) by {diff / 1e6:.3f} ms, more than 20% of the "
                    f"{budget_ns / 1e6:.3f} ms budget judged (LAT-03 c)")
    return ""


def unproven(findings: Sequence[Finding], timing_ids: frozenset[str], health: Health,
             groups: Sequence[str]) -> list[Finding]:
    """LAT-03: with an unhealthy generator a timing violation stands only when the send lag cannot
    explain it: its margin over the budget (CI lower bound, else the point) exceeds the largest
    send lag of the judged ``groups``, the most lag can have added to any of their percentiles.
    Others become warnings that say so; the result is then inconclusive with the LAT-03 reason."""
    if not health.problem:
        return list(findings)
    lag_ms = max((health.lag[g].max_ns for g in groups if g in health.lag), default=0) / 1e6
    out = []
    for f in findings:
        ev = f.evidence
        low, limit = ev.get("ci_low", ev.get("actual")), ev.get("expected")
        if (f.severity == "violation" and f.spec_id in timing_ids and isinstance(low, (int, float))
                and isinstance(limit, (int, float)) and low - lag_ms <= limit):
            f = replace(f, severity="warning",
                        message=f"{f.message} (not proven: a send lag of up to {lag_ms:.1f} ms could explain it, LAT-03)")
        out.append(f)
    return out


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


PATHS: Final = ("gateway", "direct", "comparator")


class LatencyCheck:
    name = NAME
    spec_ids = SPEC_IDS

    def run(self, evidence: Evidence) -> CheckResult:
        st = evidence.settings
        sink = FindingSink(NAME, st.convention, st.name)
        recs = after_warmup(evidence.client, st.budgets.warmup_s)
        by_path = {p: [r for r in recs if r.path == p] for p in PATHS}
        present = {p: rs for p, rs in by_path.items() if rs}
        hists = {p: histogram_of(rs) for p, rs in by_path.items()}
        details: dict[str, object] = {
            "paths": {p: {**h.summary().to_json(), "encoded": h.encode()} for p, h in hists.items() if h.count},
        }
        if not hists["gateway"].count or not hists["direct"].count:
            details["send_lag"] = generator_health(present).to_json()
            return conclude(NAME, SPEC_IDS, [], details=details, judged={"requests": 0},
                            inconclusive="LAT-04 needs completed gateway and direct requests after warm-up")
        details["overhead_ms"] = _overhead(hists, "gateway")
        details["ratio"] = {str(p): hists["gateway"].percentile_us(p) / max(hists["direct"].percentile_us(p), 1)
                            for p in PERCENTILES}
        details["overhead_ci_ms"] = _overhead_ci(by_path, st.budgets.bootstrap_resamples, st.budgets.seed)
        if hists["comparator"].count:
            details["comparator_overhead_ms"] = _overhead(hists, "comparator")
        samples = {p: [float(r.latency_ns) for r in by_path[p] if r.ok and r.latency_ns is not None] for p in PATHS}
        limits = [lim for b in st.budgets.latency
                  if (lim := _judge(b, hists, sink, samples, st.budgets.bootstrap_resamples, st.budgets.seed)) is not None]
        details["budgets_ms"] = limits
        if not st.budgets.latency:
            sink.add("LAT-04", "info", "timing", "overhead reported; no budget declared",
                     actual={k: round(v, 3) for k, v in details["overhead_ms"].items()})  # type: ignore[attr-defined]
        names = list(present)
        pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
        health = generator_health(present, pairs, min(limits) * 1e6 if limits else None)
        details["send_lag"] = health.to_json()
        judged = {"gateway_requests": hists["gateway"].count, "direct_requests": hists["direct"].count}
        findings = unproven(sink.findings, frozenset({"LAT-07"}), health, ("gateway",))
        return conclude(NAME, SPEC_IDS, findings, judged=judged, inconclusive=health.problem, details=details)


def _overhead(hists: Mapping[str, LatencyHistogram], path: str) -> dict[str, float]:
    """LAT-04: pX(path) − pX(direct) in ms, for every reported percentile."""
    return {str(p): (hists[path].percentile_us(p) - hists["direct"].percentile_us(p)) / 1000 for p in PERCENTILES}


def _overhead_ci(by_path: Mapping[str, Sequence[ClientRecord]], resamples: int, seed: int) -> dict[str, Any]:
    """Seeded bootstrap 95% CIs of the p50 and p99 overhead, reported next to the figures judged
    (from the raw samples, so the point may differ from the histogram's by its precision)."""
    lat = {p: [r.latency_ns for r in by_path[p] if r.ok and r.latency_ns is not None] for p in ("gateway", "direct")}
    if not lat["gateway"] or not lat["direct"]:
        return {}
    cis = bootstrap_percentile_deltas(lat["direct"], lat["gateway"], (50, 99), resamples=resamples, seed=seed)
    return {f"p{p:g}": {"point": ci.point / 1e6, "low": ci.low / 1e6, "high": ci.high / 1e6} for p, ci in cis.items()}


def _judge(b: LatencyBudget, hists: Mapping[str, LatencyHistogram], sink: FindingSink,
           samples: Mapping[str, Sequence[float]], resamples: int, seed: int) -> float | None:
    """LAT-07: one declared budget; returns its limit in ms (None when it cannot be judged).

    A percentile overhead is the difference of two estimates, each with its own sampling error,
    so the excess over the budget gets a seeded bootstrap CI over the paths' raw samples, as the
    isolation deltas do (ISO-03): a violation when the CI's lower bound is over the budget, a
    warning when only the point estimate is."""
    p = b.percentile
    over_ms = (hists["gateway"].percentile_us(p) - hists["direct"].percentile_us(p)) / 1000
    limits = []
    if b.overhead_ms is not None:
        limits.append(b.overhead_ms)
        ci = bootstrap_statistic([samples["gateway"], samples["direct"]],
                                 lambda s: (ranked(s[0], p) - ranked(s[1], p)) / 1e6 - b.overhead_ms,
                                 resamples=resamples, seed=seed)
        _excess(sink, ci, f"overhead p{p:g} exceeds its budget", expected=b.overhead_ms, actual=round(over_ms, 3))
    if b.comparator_ratio is not None:
        if not hists["comparator"].count:
            sink.add("LAT-07", "warning", "missing", "a relative budget names a comparator that has no samples")
        else:
            comp_ms = (hists["comparator"].percentile_us(p) - hists["direct"].percentile_us(p)) / 1000
            limit = b.comparator_ratio * max(comp_ms, 0.0)
            limits.append(limit)
            r = b.comparator_ratio
            ci = bootstrap_statistic(
                [samples["gateway"], samples["direct"], samples["comparator"]],
                lambda s: ((ranked(s[0], p) - ranked(s[1], p)) - r * max(ranked(s[2], p) - ranked(s[1], p), 0.0)) / 1e6,
                resamples=resamples, seed=seed)
            _excess(sink, ci, f"overhead p{p:g} exceeds {r:g} x the comparator's", expected=round(limit, 3),
                    actual=round(over_ms, 3), comparator_ms=round(comp_ms, 3))
    return min(limits) if limits else None


def _excess(sink: FindingSink, ci: DeltaCI, message: str, **evidence: Any) -> None:
    """A violation when the excess's CI lower bound is over zero, a warning when only its point is."""
    if ci.point <= 0:
        return
    ev = {**evidence, "excess_ms": round(ci.point, 3), "excess_ci_ms": [round(ci.low, 3), round(ci.high, 3)],
          "ci_low": round(evidence["expected"] + ci.low, 3)}
    if ci.low > 0:
        sink.add("LAT-07", "violation", "timing", message, **ev)
    else:
        sink.add("LAT-07", "warning", "timing", f"{message} by its point estimate, not by its 95% CI", **ev)
