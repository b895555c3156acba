"""Judging selftest runs (RUN-05), pure: was each defect caught, and did the clean gateway pass?

A **clean run** of a scenario is sound when the run did not break, every check that some defect of
this scenario targets *passed*, and no other check failed or broke (another check may be
inconclusive, with its reason shown: RUN-03 keeps it from counting as a pass, and it is not the
check under proof). The timing checks in :data:`MACHINE_BOUND` are the exception among targets:
their preconditions (a healthy load generator, LAT-03; enough samples per mode, ISO-03) depend on
the machine, so on the clean run they may be inconclusive with a reason, but never failed.

A defect is **caught** when its check, in the run with the defect on, reports a finding that cites
one of the defect's SPEC ids with at least the defect's severity, and the clean run of the same
scenario has no finding with that SPEC id and severity from that check (so a warning the clean
gateway also earns proves nothing). Suppressed findings count too: a scenario's suppression must
not hide a seeded defect. Other checks that fail only with the defect on are listed as collateral.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from typing import Final

from testbed.checks.result import SEVERITY_RANK, CheckResult, Finding
from testbed.selftest.catalogue import Defect

MACHINE_BOUND: Final = frozenset({"isolation", "latency"})
"""Target checks that may be inconclusive (never failed) on the clean run."""


@dataclass(frozen=True, slots=True)
class RunView:
    """What the judge needs of one scenario run: results, suppressed findings, or the error."""

    results: tuple[CheckResult, ...] = ()
    suppressed: tuple[Finding, ...] = ()
    error: str | None = None

    def outcome(self, check: str) -> str:
        for r in self.results:
            if r.check == check:
                return r.outcome
        return "missing"

    def findings(self, check: str) -> list[Finding]:
        own = [f for r in self.results if r.check == check for f in r.findings]
        return own + [f for f in self.suppressed if f.check == check]


@dataclass(frozen=True, slots=True)
class CleanJudgement:
    scenario: str
    ok: bool
    outcomes: tuple[tuple[str, str], ...]
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    """Why an accepted check was inconclusive (RUN-03: shown, never counted as a pass)."""


@dataclass(frozen=True, slots=True)
class Catch:
    defect: Defect
    caught: bool
    outcome: str
    """The defect's check outcome in the run with the defect on."""
    finding: Finding | None = None
    collateral: tuple[str, ...] = ()
    reason: str = ""


def judge_clean(scenario: str, run: RunView, targets: Iterable[str]) -> CleanJudgement:
    if run.error:
        return CleanJudgement(scenario, False, (), (f"the run broke: {run.error}",))
    wanted = set(targets)
    problems = []
    for check in sorted(wanted):
        outcome = run.outcome(check)
        allowed = ("passed", "inconclusive") if check in MACHINE_BOUND else ("passed",)
        if outcome not in allowed:
            problems.append(f"{check} is {outcome} on the clean gateway{_why(run, check)}")
    for r in run.results:
        if r.check not in wanted and r.outcome in ("failed", "error"):
            problems.append(f"{r.check} is {r.outcome} on the clean gateway{_why(run, r.check)}")
    outcomes = tuple((r.check, r.outcome) for r in run.results)
    notes = tuple(f"{r.check} is inconclusive: {r.reason}" for r in run.results if r.outcome == "inconclusive")
    return CleanJudgement(scenario, not problems, outcomes, tuple(problems), notes if not problems else ())


def _why(run: RunView, check: str) -> str:
    for r in run.results:
        if r.check == check:
            if r.reason:
                return f" ({r.reason})"
            worst = [f for f in r.findings if f.severity == "violation"]
            if worst:
                return f" ({worst[0].spec_id}: {worst[0].message})"
    return ""


def judge_defect(defect: Defect, run: RunView, clean: RunView) -> Catch:
    if run.error:
        return Catch(defect, False, "error", reason=f"the run broke: {run.error}")
    outcome = run.outcome(defect.check)
    floor = SEVERITY_RANK[defect.severity]
    baseline = {(f.spec_id, f.severity) for f in clean.findings(defect.check)}
    hits = [f for f in run.findings(defect.check)
            if f.spec_id in defect.spec_ids and SEVERITY_RANK[f.severity] >= floor
            and (f.spec_id, f.severity) not in baseline]
    hits.sort(key=lambda f: -SEVERITY_RANK[f.severity])
    collateral = _collateral(run, clean, defect.check)
    if not hits:
        reason = f"{defect.check} is {outcome} with no {defect.severity} citing {', '.join(defect.spec_ids)}"
        return Catch(defect, False, outcome, None, collateral, reason)
    return Catch(defect, True, outcome, hits[0], collateral)


def _collateral(run: RunView, clean: RunView, own: str) -> tuple[str, ...]:
    return tuple(r.check for r in run.results
                 if r.check != own and r.outcome == "failed" and clean.outcome(r.check) != "failed")


def passed(cleans: Sequence[CleanJudgement], catches: Sequence[Catch]) -> bool:
    """The selftest verdict: every clean run sound and every defect caught."""
    return bool(catches) and all(c.ok for c in cleans) and all(c.caught for c in catches)
