"""Findings and check results (SPEC 1.3, RUN-03).

A ``Finding`` is one departure from a rule, with the SPEC id it breaks. A ``CheckResult`` is what a
check returns: every finding it made (a check never stops at the first problem), an ``Outcome``
and, when the outcome is ``inconclusive`` or ``error``, the reason. The outcome is derived from the
findings unless a precondition failed:

- ``failed``        at least one ``violation``
- ``inconclusive``  a precondition failed (too few samples, failed positive control, missing
                    evidence); never a pass, even without findings (RUN-03)
- ``error``         the check itself broke; the run, not the telemetry, is at fault
- ``passed``        none of the above; warnings and info do not fail a check (RUN-01)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["violation", "warning", "info"]
Category = Literal[
    "missing", "type", "value", "deprecated", "non_standard", "lenient", "leak", "timing", "loss",
]
Outcome = Literal["passed", "failed", "inconclusive", "error"]

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
    profile: str = ""
    scenario: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "spec_id": self.spec_id, "check": self.check, "severity": self.severity,
            "category": self.category, "profile": self.profile, "scenario": self.scenario,
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

    @property
    def violations(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "violation")


def conclude(
    check: str,
    spec_ids: Iterable[str],
    findings: Iterable[Finding],
    *,
    inconclusive: str = "",
    details: Mapping[str, Any] | None = None,
) -> CheckResult:
    """Build a result: ``failed`` on any violation, else ``inconclusive`` when a reason is given,
    else ``passed``. A violation outranks a failed precondition because it is already proven."""
    found = tuple(findings)
    if any(f.severity == "violation" for f in found):
        outcome: Outcome = "failed"
    elif inconclusive:
        outcome = "inconclusive"
    else:
        outcome = "passed"
    return CheckResult(check, tuple(spec_ids), outcome, found, inconclusive, dict(details or {}))


class FindingSink:
    """Collects findings for one check with the check name, profile and scenario filled in."""

    def __init__(self, check: str, profile: str = "", scenario: str = "") -> None:
        self.check = check
        self.profile = profile
        self.scenario = scenario
        self.findings: list[Finding] = []

    def add(
        self, spec_id: str, severity: Severity, category: Category, message: str, **evidence: Any
    ) -> None:
        clean = {k: v for k, v in evidence.items() if v is not None}
        self.findings.append(
            Finding(spec_id, self.check, severity, category, message, clean, self.profile, self.scenario)
        )
