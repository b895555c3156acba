"""The graded defects of ``testbed selftest --sensitivity`` (RUN-07). Pure data and arithmetic.

A :class:`Ladder` names one check, the catalogued defect whose grades it climbs (coarse to fine),
the shipped scenario that exposes it and, for rarity grades, how to size the workload: a defect
that breaks 1 item in N needs well over N items in the run, so each rarity grade's run lasts long
enough to break :data:`MIN_BREAKS` items (requests or spans, by the defect's unit) at the ladder's
rate. Duration grades (a stall, a blocked request path) keep the scenario's own workload, whose
budget and statistics the check was designed around.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Final, Literal

from testbed.defect_switches import Grade, parse_grade
from testbed.runner.scenario import Scenario

Unit = Literal["request", "span"]

MIN_BREAKS: Final = 2
"""A rarity grade's run is sized to break at least this many items (the tally is exact)."""

SPANS_PER_REQUEST: Final = 2
"""Spans the reference gateway emits per healthy request (one SERVER, one CLIENT)."""


@dataclass(frozen=True, slots=True)
class Ladder:
    check: str
    defect: str
    """A catalogue name; its switch becomes ``defect@grade``."""
    scenario: str
    grades: tuple[str, ...]
    """Coarse to fine: each breaks less than the one before."""
    rate_per_s: float = 0.0
    """For rarity grades: the request rate the run is sized at (0 keeps the scenario's)."""
    unit: Unit = "request"
    target: str = ""
    """The grade the check should catch in R of R runs (the issue's target on a 2-core machine)."""

    def parsed(self) -> tuple[Grade, ...]:
        return tuple(parse_grade(g) for g in self.grades)


LADDERS: Final[tuple[Ladder, ...]] = (
    Ladder("redaction", "leak_content_at_ingest", "redaction-on", ("1/10", "1/100", "1/1000"),
           rate_per_s=100, target="1/1000"),
    Ladder("loss", "lose_spans_on_retry", "otlp-5xx-burst", ("1/100", "1/1000", "1/5000"),
           rate_per_s=100, unit="span", target="1/5000"),
    Ladder("semconv-values", "wrong_usage", "baseline", ("1/10", "1/100"), rate_per_s=50, target="1/100"),
    Ladder("latency", "stall_request_path", "latency-budget-250rps", ("50ms", "5ms", "2ms"), target="5ms"),
    Ladder("isolation", "publish_in_request_path", "isolation", ("50ms", "5ms", "1ms"), target="5ms"),
)


def ladders_for(checks: list[str] | tuple[str, ...] | None = None) -> tuple[Ladder, ...]:
    """The ladders of the named checks, in table order (all when empty); KeyError on an unknown check."""
    if not checks:
        return LADDERS
    known = {lad.check for lad in LADDERS}
    missing = [c for c in checks if c not in known]
    if missing:
        raise KeyError(missing[0])
    return tuple(lad for lad in LADDERS if lad.check in set(checks))


def requests_needed(grade: Grade, unit: Unit) -> int:
    """Requests that break at least :data:`MIN_BREAKS` items at a rarity grade (0 for durations)."""
    if grade.kind != "rarity":
        return 0
    per_request = SPANS_PER_REQUEST if unit == "span" else 1
    return math.ceil(MIN_BREAKS * grade.every / per_request)


def sized(sc: Scenario, ladder: Ladder, grade: Grade) -> Scenario:
    """The scenario with its workload long enough for ``grade`` (never shorter than shipped)."""
    need = requests_needed(grade, ladder.unit)
    if not need:
        return sc
    w = sc.workload
    rate = ladder.rate_per_s or w.rate_per_s
    duration = max(w.duration_s, w.warmup_s + math.ceil(need / rate))
    return replace(sc, workload=replace(w, rate_per_s=rate, duration_s=float(duration)))


def only_check(sc: Scenario, check: str) -> Scenario:
    """The scenario running ``check`` alone, keeping only the suppressions of its own SPEC ids (the
    others would go stale, RUN-02)."""
    from testbed.checks import REGISTRY

    own = set(REGISTRY[check].spec_ids)
    return replace(sc, checks=(check,), expected_findings=tuple(e for e in sc.expected_findings if e.spec_id in own))


def finest(ladder: Ladder) -> Grade:
    return ladder.parsed()[-1]
