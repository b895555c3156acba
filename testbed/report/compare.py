"""``testbed compare BASELINE.json CURRENT.json``: the CI gate on regressions between two runs.

``compare_results`` is pure; ``compare_main`` reads the files, prints a Markdown summary (for CI
job pages) and returns the exit status:

- ``0``: no regression;
- ``1``: at least one regression;
- ``2``: usage or input error (a file missing, unreadable or not JSON, a schema other than
  ``testbed.results/1``).

Regressions:

- a check that did not fail in the baseline (passed, inconclusive or not_applicable) and now fails
  or errors, and a scenario that now breaks (status ``error``) where the baseline ran;
- a scenario or a check present in the baseline and absent from the current run, or a check
  that was not inconclusive (or not_applicable) and now is (RUN-03, RUN-08); not_applicable in
  both runs is no change. A gate that loses its evidence must not read as "no regression", so a
  run where everything vanished exits 1;
- gateway overhead (LAT-04: pX(gateway) − pX(direct), X in 50, 90, 99, per scenario, phase, mode
  and metric; client-visible latency and TTFT only, warm-up excluded) that grew by more than the
  tolerance:

      tolerance = max(pct% × pX(gateway, baseline), floor_ms) × widen
      widen     = sqrt(min_tail / tail)   (at least 1)
      tail      = n × (1 − X/100), n the smallest sample count of the four histograms

  so a percentile estimated from few samples beyond it (for example a p99 over 300 requests: 3)
  gets a wider band. With fewer than one sample beyond the percentile the percentile is the
  maximum, not an estimate: it is listed as "too few samples" and never gates.

Newly passing checks, checks that only appear in the current run and overhead improvements (a
drop by more than the tolerance) are listed, never gating. Overhead compares two runs of the same suite,
so point both at runs from the same kind of machine (LAT-07 forbids budgets across machines).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Final

from testbed.report._data import as_dict, as_dicts, as_str
from testbed.report.latency_view import summary_of

SCHEMA: Final = "testbed.results/1"
GATED_PERCENTILES: Final = (("p50", 50.0), ("p90", 90.0), ("p99", 99.0))
FAILING: Final = frozenset(("failed", "error"))
LOST: Final = frozenset(("absent", "inconclusive", "not_applicable"))
"""Outcomes that mean the gate lost its evidence; not_applicable only when it was applicable before."""
"""A check that vanished or lost its verdict: a regression from any baseline outcome (RUN-08)."""
GATED_METRICS: Final = frozenset(("latency", "ttft"))
"""Client-visible latency and TTFT; service time and send lag are diagnostics (LAT-02)."""
UNGATED_PHASES: Final = frozenset(("warmup",))
"""Warm-up samples are excluded from judgement (LAT-06)."""


DEFAULT_PCT: Final = 10.0
DEFAULT_FLOOR_MS: Final = 1.0
DEFAULT_MIN_TAIL: Final = 10


@dataclass(frozen=True, slots=True)
class Tolerance:
    pct: float = DEFAULT_PCT
    floor_ms: float = DEFAULT_FLOOR_MS
    min_tail: int = DEFAULT_MIN_TAIL


@dataclass(frozen=True, slots=True)
class CheckChange:
    scenario: str
    check: str
    baseline: str
    current: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class OverheadDelta:
    scenario: str
    group: str
    percentile: str
    baseline_ms: float
    current_ms: float
    tolerance_ms: float | None
    verdict: str
    """``regression``, ``improvement``, ``within tolerance`` or ``too few samples``."""

    @property
    def delta_ms(self) -> float:
        return self.current_ms - self.baseline_ms


@dataclass(frozen=True, slots=True)
class Comparison:
    regressions: tuple[CheckChange, ...] = ()
    fixed: tuple[CheckChange, ...] = ()
    other: tuple[CheckChange, ...] = ()
    overhead: tuple[OverheadDelta, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def overhead_regressions(self) -> tuple[OverheadDelta, ...]:
        return tuple(d for d in self.overhead if d.verdict == "regression")

    @property
    def regressed(self) -> bool:
        return bool(self.regressions or self.overhead_regressions)


class InputError(ValueError):
    """A file that is not a results document this gate can read (exit status 2)."""


def check_schema(doc: Any, where: str) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise InputError(f"{where}: not a JSON object")
    if doc.get("schema") != SCHEMA:
        raise InputError(f"{where}: schema {doc.get('schema')!r}, expected {SCHEMA!r}")
    return doc


def _outcomes(doc: dict[str, Any]) -> tuple[dict[tuple[str, str], tuple[str, str]], dict[str, str]]:
    checks: dict[tuple[str, str], tuple[str, str]] = {}
    statuses: dict[str, str] = {}
    for s in as_dicts(doc.get("scenarios")):
        name = as_str(s.get("name"), "?")
        statuses[name] = as_str(s.get("status"), "error")
        for c in as_dicts(s.get("checks")):
            first = next(iter(as_dicts(c.get("findings"))), {})
            detail = f"{as_str(first.get('spec_id'))}: {as_str(first.get('message'))}" if first else as_str(c.get("reason"))
            checks[(name, as_str(c.get("check"), "?"))] = (as_str(c.get("outcome"), "error"), detail)
    return checks, statuses


def compare_checks(baseline: dict[str, Any], current: dict[str, Any]) -> tuple[list[CheckChange], ...]:
    """(regressions, newly passing, other changes) between two runs' check outcomes."""
    base, base_status = _outcomes(baseline)
    cur, cur_status = _outcomes(current)
    regressions, fixed, other = [], [], []
    for key in sorted(set(base) | set(cur)):
        b, (c, detail) = base.get(key, ("absent", "")), cur.get(key, ("absent", ""))
        if b[0] == c:
            continue
        change = CheckChange(key[0], key[1], b[0], c, detail or _lost(c))
        if c in FAILING and b[0] in ("passed", "inconclusive", "not_applicable") or (c in LOST and b[0] != "absent"):
            regressions.append(change)
        elif c == "passed" and b[0] in FAILING | {"inconclusive"}:
            fixed.append(change)
        else:
            other.append(change)
    for name in sorted(set(base_status) & set(cur_status)):
        if cur_status[name] == "error" and base_status[name] != "error" and not any(k[0] == name for k in cur):
            regressions.append(CheckChange(name, "(run)", base_status[name], "error", "the scenario broke"))
    for name in sorted(set(base_status) - set(cur_status)):
        regressions.append(CheckChange(name, "(scenario)", base_status[name], "absent",
                                       "the scenario is missing from the current run"))
    return regressions, fixed, other


def _lost(outcome: str) -> str:
    return "the check is missing from the current run" if outcome == "absent" else ""


def _latency_index(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, dict[str, Any]]]:
    """(scenario, "phase/mode/metric") -> path -> summary."""
    out: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for s in as_dicts(doc.get("scenarios")):
        for e in as_dicts(s.get("latency")):
            if as_str(e.get("metric")) not in GATED_METRICS or as_str(e.get("phase")) in UNGATED_PHASES:
                continue
            group = "/".join(as_str(e.get(k), "?") for k in ("phase", "mode", "metric"))
            out.setdefault((as_str(s.get("name"), "?"), group), {})[as_str(e.get("path"))] = summary_of(e)
    return out


def _num(summary: dict[str, Any], key: str) -> float | None:
    v = summary.get(key)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def tolerance_ms(gateway_base_ms: float, n: int, pct_value: float, tol: Tolerance) -> float | None:
    """The noise-aware band for one percentile (module docstring); None when too few samples."""
    tail = n * (1 - pct_value / 100)
    if tail < 1:
        return None
    widen = max(1.0, math.sqrt(tol.min_tail / tail))
    return max(tol.pct / 100 * gateway_base_ms, tol.floor_ms) * widen


def _delta(key: tuple[str, str], b: dict[str, dict[str, Any]], c: dict[str, dict[str, Any]], label: str,
           pct_value: float, tol: Tolerance) -> OverheadDelta | None:
    parts = [b["gateway"], b["direct"], c["gateway"], c["direct"]]
    values = [_num(p, label) for p in parts]
    if any(v is None for v in values):
        return None
    gb, db, gc, dc = (v / 1000.0 for v in values)  # type: ignore[operator]
    n = int(min(_num(p, "count") or 0 for p in parts))
    band = tolerance_ms(gb, n, pct_value, tol)
    base, cur = gb - db, gc - dc
    if band is None:
        verdict = "too few samples"
    elif cur - base > band:
        verdict = "regression"
    elif base - cur > band:
        verdict = "improvement"
    else:
        verdict = "within tolerance"
    return OverheadDelta(key[0], key[1], label, base, cur, band, verdict)


def compare_overhead(baseline: dict[str, Any], current: dict[str, Any], tol: Tolerance) -> list[OverheadDelta]:
    base, cur = _latency_index(baseline), _latency_index(current)
    out = []
    for key in sorted(set(base) & set(cur)):
        b, c = base[key], cur[key]
        if not all("gateway" in x and "direct" in x for x in (b, c)):
            continue
        for label, value in GATED_PERCENTILES:
            d = _delta(key, b, c, label, value, tol)
            if d is not None:
                out.append(d)
    return out


def compare_results(baseline: dict[str, Any], current: dict[str, Any], tolerance: Tolerance | None = None) -> Comparison:
    """Compare two results documents (already schema-checked)."""
    tol = tolerance or Tolerance()
    regressions, fixed, other = compare_checks(baseline, current)
    overhead = compare_overhead(baseline, current, tol)
    notes = []
    if not overhead:
        notes.append("No scenario has gateway and direct latency in both runs: overhead was not compared.")
    run_b, run_c = as_dict(baseline.get("run")), as_dict(current.get("run"))
    notes.append(f"baseline run {as_str(run_b.get('id'), '?')}, current run {as_str(run_c.get('id'), '?')}")
    return Comparison(tuple(regressions), tuple(fixed), tuple(other), tuple(overhead), tuple(notes))
