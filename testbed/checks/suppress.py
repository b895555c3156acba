"""Suppressions and the scenario verdict (RUN-01, RUN-02, RUN-03).

A scenario lists ``expected_findings: [{spec_id, match, reason}]``. A suppression hides the
findings it matches: same ``spec_id`` and every ``match`` key equal (glob patterns for strings)
to the finding's field (``check``, ``severity``, ``category``, ``message``) or evidence entry
(``trace_id``, ``span_id``, ``attribute``, ...). A suppression without a reason is refused at
load; one that matches nothing in the run is itself a violation (stale, RUN-02).

The verdict: ``failed`` on any unsuppressed violation (or warning under ``fail_on: warning``);
else ``error`` if a check broke, ``inconclusive`` if a check's preconditions failed (never a
pass); else ``passed``. A ``not_applicable`` check (the scenario cannot produce its evidence)
leaves the scenario's verdict to the others. Lifting a suppressed violation never makes a check
that judged nothing pass (RUN-03, enforced by ``CheckResult``).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

from pydantic import Field, field_validator

from testbed.checks.result import CheckResult, Finding
from testbed.schema.base import SchemaModel
from testbed.schema.errors import SchemaError
from testbed.schema.validate import type_name, validate

FailOn = Literal["violation", "warning"]
FINDING_FIELDS: Final = ("check", "severity", "category", "message", "convention", "scenario")
"""``match`` keys read from the finding itself; any other key is an evidence entry."""


class Suppression(SchemaModel):
    """One expected finding: hides the findings it matches, and is stale if it matches none."""

    spec_id: str = Field(pattern=r"^[A-Z]+-[0-9]{2}$")
    reason: str
    """Why the finding is expected; required, so a suppression is never silent (RUN-02)."""
    match: dict[str, Any] = {}
    """Finding fields or evidence entries that must be equal (glob patterns for strings)."""

    @field_validator("reason")
    @classmethod
    def _reason_given(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a suppression needs a reason (RUN-02)")
        return value

    def matches(self, f: Finding) -> bool:
        if f.spec_id != self.spec_id:
            return False
        for key, want in self.match.items():
            have = getattr(f, key) if key in FINDING_FIELDS else f.evidence.get(key)
            if isinstance(want, str) and isinstance(have, str):
                if not fnmatch.fnmatchcase(have, want):
                    return False
            elif have != want:
                return False
        return True


SUPPRESSION_MODEL: Final = Suppression
"""The schema of one ``expected_findings`` entry, for ``testbed schema``."""


def parse_suppressions(data: Any, where: str = "expected_findings", file: str = "") -> tuple[Suppression, ...]:
    """The scenario's or gateway profile's ``expected_findings`` list; a ``SchemaError`` names
    ``file`` and the key path (``expected_findings[2].reason``)."""
    if data is None:
        return ()
    if not isinstance(data, list):
        raise SchemaError(file, where, f"expected a list, got {type_name(data)}")
    return tuple(validate(Suppression, item, file, path=f"{where}[{i}]") for i, item in enumerate(data))


@dataclass(frozen=True, slots=True)
class Verdict:
    status: Literal["passed", "failed", "inconclusive", "error"]
    results: tuple[CheckResult, ...]
    """Results with suppressed findings removed, plus a 'suppressions' result for stale ones."""
    suppressed: tuple[tuple[Finding, Suppression], ...] = ()
    reasons: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return self.status == "passed"


def apply_suppressions(results: Sequence[CheckResult], suppressions: Iterable[Suppression],
                       scenario: str = "") -> tuple[list[CheckResult], list[tuple[Finding, Suppression]]]:
    sups = list(suppressions)
    used: set[int] = set()
    hidden: list[tuple[Finding, Suppression]] = []
    out: list[CheckResult] = []
    for r in results:
        kept = []
        for f in r.findings:
            idx = next((i for i, s in enumerate(sups) if s.matches(f)), None)
            if idx is None:
                kept.append(f)
            else:
                used.add(idx)
                hidden.append((f, sups[idx]))
        outcome = r.outcome
        if outcome == "failed" and not any(f.severity == "violation" for f in kept):
            outcome = "inconclusive" if r.reason else "passed"
        out.append(replace(r, findings=tuple(kept), outcome=outcome))
    stale = [Finding("RUN-02", "suppressions", "violation", "value",
                     f"stale suppression for {s.spec_id} matched nothing ({s.reason})",
                     {"expected": dict(s.match)}, scenario=scenario)
             for i, s in enumerate(sups) if i not in used]
    if sups:
        out.append(CheckResult("suppressions", ("RUN-02",), "failed" if stale else "passed", tuple(stale),
                               judged={"suppressions": len(sups)}))
    return out, hidden


def verdict(results: Sequence[CheckResult], suppressions: Iterable[Suppression] = (),
            fail_on: FailOn = "violation", scenario: str = "") -> Verdict:
    """RUN-01: the scenario's status from its check results and suppressions."""
    applied, hidden = apply_suppressions(results, suppressions, scenario)
    worst = {"violation"} if fail_on == "violation" else {"violation", "warning"}
    failing = [f for r in applied for f in r.findings if f.severity in worst]
    reasons = tuple(f"{f.spec_id}: {f.message}" for f in failing)
    if failing:
        status = "failed"
    elif any(r.outcome == "error" for r in applied):
        status, reasons = "error", tuple(f"{r.check}: {r.reason}" for r in applied if r.outcome == "error")
    elif any(r.outcome == "inconclusive" for r in applied):
        status = "inconclusive"
        reasons = tuple(f"{r.check}: {r.reason}" for r in applied if r.outcome == "inconclusive")
    else:
        status = "passed"
    return Verdict(status, tuple(applied), tuple(hidden), reasons)
