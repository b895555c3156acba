"""Findings and check results (SPEC 1.3, RUN-03).

A ``Finding`` is one departure from a rule, with the SPEC id it breaks. A ``CheckResult`` is what a
check returns: every finding it made (a check never stops at the first problem), an ``Outcome``,
its judged counts per rule family (``{"spans": 42, "streams": 20}``) and, when the outcome is not
``passed`` or ``failed``, the reason. The outcome is derived from the findings unless a
precondition failed:

- ``failed``          at least one ``violation``
- ``inconclusive``    a precondition failed (too few samples, failed positive control, missing
                      evidence); never a pass, even without findings (RUN-03)
- ``not_applicable``  the scenario cannot produce what the check judges (no streamed request
                      for the streaming rules); never a pass either (RUN-03)
- ``error``           the check itself broke; the run, not the telemetry, is at fault
- ``passed``          none of the above; warnings and info do not fail a check (RUN-01)

RUN-03 is enforced here, once, for every check: a ``CheckResult`` that would be ``passed`` while
its judged counts add up to zero is turned into ``inconclusive`` when it is built, so a check
that forgets to count cannot pass on nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["violation", "warning", "info"]
Category = Literal[
    "missing", "type", "value", "deprecated", "non_standard", "lenient", "leak", "timing", "loss",
]
Outcome = Literal["passed", "failed", "inconclusive", "not_applicable", "error"]
OUTCOMES: tuple[Outcome, ...] = ("passed", "failed", "inconclusive", "not_applicable", "error")
NOTHING_JUDGED = "the check judged nothing, so it cannot pass (RUN-03)"

SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "violation": 2}


@dataclass(frozen=True, slots=True)
class Finding:
    """One departure from a SPEC rule; ``evidence`` holds trace_id, span_id, attribute, expected,
    actual and byte offset where they apply (all JSON-serialisable)."""

    spec_id: str
    check: str
    severity: Severity
    category: Category
    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    convention: str = ""
    scenario: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "spec_id": self.spec_id, "check": self.check, "severity": self.severity,
            "category": self.category, "convention": self.convention, "scenario": self.scenario,
            "message": self.message, "evidence": dict(self.evidence),
        }


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The result of one check on one scenario's evidence."""

    check: str
    spec_ids: tuple[str, ...]
    outcome: Outcome
    findings: tuple[Finding, ...] = ()
    reason: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)
    """Measured figures (percentiles, counts, CIs) for the report; JSON-serialisable."""
    judged: Mapping[str, int] = field(default_factory=dict)
    """How many items each rule family judged (spans, streams, requests, canaries, chains)."""

    def __post_init__(self) -> None:
        # RUN-03, central: nothing judged is never a pass, whichever check built the result.
        if self.outcome == "passed" and self.judged_total == 0:
            object.__setattr__(self, "outcome", "inconclusive")
            object.__setattr__(self, "reason", self.reason or NOTHING_JUDGED)

    @property
    def judged_total(self) -> int:
        return sum(v for v in self.judged.values() if isinstance(v, int) and v > 0)

    @property
    def violations(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "violation")


def conclude(
    check: str,
    spec_ids: Iterable[str],
    findings: Iterable[Finding],
    *,
    judged: Mapping[str, int] | None = None,
    inconclusive: str = "",
    not_applicable: str = "",
    details: Mapping[str, Any] | None = None,
) -> CheckResult:
    """Build a result: ``failed`` on any violation, else ``inconclusive`` when a reason is given,
    else, when nothing was judged, ``not_applicable`` if the check says the scenario cannot
    produce its evidence and ``inconclusive`` otherwise, else ``passed``. A violation outranks a
    failed precondition because it is already proven. Without ``judged`` nothing was judged, so
    the result can never be ``passed``."""
    found = tuple(findings)
    counts = {k: int(v) for k, v in (judged or {}).items()}
    reason = inconclusive
    if any(f.severity == "violation" for f in found):
        outcome: Outcome = "failed"
    elif inconclusive:
        outcome = "inconclusive"
    elif not any(v > 0 for v in counts.values()):
        outcome = "not_applicable" if not_applicable else "inconclusive"
        reason = not_applicable or NOTHING_JUDGED
    else:
        outcome = "passed"
    return CheckResult(check, tuple(spec_ids), outcome, found, reason, dict(details or {}), counts)


def judged_text(judged: Mapping[str, Any]) -> str:
    """``{"spans": 42, "streams": 20}`` -> ``"42 spans, 20 streams"`` for reports."""
    return ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in judged.items() if isinstance(v, int))


class FindingSink:
    """Collects findings for one check with the check name, convention and scenario filled in."""

    def __init__(self, check: str, convention: str = "", scenario: str = "") -> None:
        self.check = check
        self.convention = convention
        self.scenario = scenario
        self.findings: list[Finding] = []

    def add(
        self, spec_id: str, severity: Severity, category: Category, message: str, **evidence: Any
    ) -> None:
        clean = {k: v for k, v in evidence.items() if v is not None}
        self.findings.append(
            Finding(spec_id, self.check, severity, category, message, clean, self.convention, self.scenario)
        )
