"""Judging selftest runs strictly (RUN-05), pure: was each defect caught, and did the clean gateway pass?

A **clean run** of a scenario is sound only when the run did not break, no span at the ingest
carries a defect tag (``testbed.defects``), every check some defect of the scenario targets
*passed*, and every other check passed or was ``not_applicable`` (RUN-03: nothing it could judge).
An ``inconclusive`` check fails the selftest like a failed one: a check that cannot judge on the
clean reference gateway proves nothing when it fails on the defective one.

A violation-level defect is **caught** only when all of these hold in the run with it on:

- every span at the ingest carries the defect's switch in ``testbed.defects`` (it was really on);
- its check's outcome is ``failed``;
- that check reports an unsuppressed violation citing one of the defect's SPEC ids, which the
  clean run of the same scenario did not also earn (a scenario's ``expected_findings`` may not hide
  a seeded defect: a suppressed finding catches nothing).

A warning-level defect (its rule is a SHOULD) is never a catch: it is ``warned`` when the check
reports an unsuppressed warning or worse citing its ids, ``missed`` otherwise. Other checks that
fail only with the defect on are listed as collateral.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from testbed.checks.result import SEVERITY_RANK, CheckResult, Finding
from testbed.selftest.catalogue import Defect

CatchStatus = Literal["caught", "warned", "missed", "invisible", "error"]
CLEAN_OUTCOMES_ELSEWHERE: Final = frozenset({"passed", "not_applicable"})
"""What a check no defect of the scenario targets may report on the clean run."""


@dataclass(frozen=True, slots=True)
class RunView:
    """What the judge needs of one scenario run: results (suppressed findings already removed),
    the suppressed findings, the error, and the ``testbed.defects`` tags of the spans at the ingest
    (tag value -> span count; ``""`` counts untagged spans)."""

    results: tuple[CheckResult, ...] = ()
    suppressed: tuple[Finding, ...] = ()
    error: str | None = None
    tags: Mapping[str, int] = field(default_factory=dict)

    def outcome(self, check: str) -> str:
        for r in self.results:
            if r.check == check:
                return r.outcome
        return "missing"

    def findings(self, check: str) -> list[Finding]:
        """Unsuppressed findings of ``check`` only."""
        return [f for r in self.results if r.check == check for f in r.findings]

    @property
    def spans(self) -> int:
        return sum(self.tags.values())

    def tagged_spans(self) -> int:
        return sum(n for tag, n in self.tags.items() if tag)

    def carries(self, switch: str) -> bool:
        """Whether there are spans and every one carries ``switch`` in its defect tag."""
        return self.spans > 0 and all(switch in tag.split(",") for tag, n in self.tags.items() if n)


@dataclass(frozen=True, slots=True)
class CleanJudgement:
    scenario: str
    ok: bool
    outcomes: tuple[tuple[str, str], ...]
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Catch:
    defect: Defect
    status: CatchStatus
    outcome: str
    """The defect's check outcome in the run with the defect on."""
    finding: Finding | None = None
    collateral: tuple[str, ...] = ()
    reason: str = ""
    switch: str = ""
    """The switch as turned on (``name`` or ``name@grade``)."""

    @property
    def caught(self) -> bool:
        return self.status == "caught"

    @property
    def sound(self) -> bool:
        """What the selftest requires of this row: caught, or warned for a warning-level defect."""
        return self.status == ("warned" if self.defect.severity == "warning" else "caught")


def judge_clean(scenario: str, run: RunView, targets: Iterable[str]) -> CleanJudgement:
    if run.error:
        return CleanJudgement(scenario, False, (), (f"the run broke: {run.error}",))
    wanted = set(targets)
    problems = []
    if run.tagged_spans():
        problems.append(f"{run.tagged_spans()} spans carry a defect tag on the clean gateway")
    for check in sorted(wanted):
        if (outcome := run.outcome(check)) != "passed":
            problems.append(f"{check} is {outcome} on the clean gateway{_why(run, check)}")
    for r in run.results:
        if r.check not in wanted and r.outcome not in CLEAN_OUTCOMES_ELSEWHERE:
            problems.append(f"{r.check} is {r.outcome} on the clean gateway{_why(run, r.check)}")
    outcomes = tuple((r.check, r.outcome) for r in run.results)
    return CleanJudgement(scenario, not problems, outcomes, tuple(problems))


def _why(run: RunView, check: str) -> str:
    """The first violation of a failed check, else the check's reason."""
    for r in run.results:
        if r.check == check:
            worst = [f for f in r.findings if f.severity == "violation"]
            if worst:
                return f" ({worst[0].spec_id}: {worst[0].message})"
            if r.reason:
                return f" ({r.reason})"
    return ""


def judge_defect(defect: Defect, run: RunView, clean: RunView, switch: str = "") -> Catch:
    switch = switch or defect.name
    if run.error:
        return Catch(defect, "error", "error", reason=f"the run broke: {run.error}", switch=switch)
    outcome = run.outcome(defect.check)
    collateral = _collateral(run, clean, defect.check)
    if not run.carries(switch):
        reason = f"not visible: {run.spans - _carrying(run, switch)} of {run.spans} spans lack testbed.defects={switch}"
        return Catch(defect, "invisible", outcome, None, collateral, reason, switch)
    floor = SEVERITY_RANK[defect.severity]
    baseline = {(f.spec_id, f.severity) for f in clean.findings(defect.check)}
    cited = [f for f in run.findings(defect.check) if f.spec_id in defect.spec_ids and SEVERITY_RANK[f.severity] >= floor]
    hits = sorted((f for f in cited if (f.spec_id, f.severity) not in baseline), key=lambda f: -SEVERITY_RANK[f.severity])
    if hits and (defect.severity == "warning" or outcome == "failed"):
        status: CatchStatus = "warned" if defect.severity == "warning" else "caught"
        return Catch(defect, status, outcome, hits[0], collateral, switch=switch)
    return Catch(defect, "missed", outcome, None, collateral, _miss_reason(defect, outcome, cited, hits), switch)


def _miss_reason(defect: Defect, outcome: str, cited: list[Finding], hits: list[Finding]) -> str:
    ids = ", ".join(defect.spec_ids)
    if hits:
        return f"{defect.check} is {outcome} although it cites {ids}"
    if cited:
        return f"{defect.check} is {outcome}, but the clean run earns the same {ids} findings, which proves nothing"
    return f"{defect.check} is {outcome} with no unsuppressed {defect.severity} citing {ids}"


def _carrying(run: RunView, switch: str) -> int:
    return sum(n for tag, n in run.tags.items() if switch in tag.split(","))


def _collateral(run: RunView, clean: RunView, own: str) -> tuple[str, ...]:
    return tuple(r.check for r in run.results
                 if r.check != own and r.outcome == "failed" and clean.outcome(r.check) != "failed")


def passed(cleans: Sequence[CleanJudgement], catches: Sequence[Catch]) -> bool:
    """The selftest verdict: every clean run sound, every violation-level defect caught and every
    warning-level one warned."""
    return bool(catches) and all(c.ok for c in cleans) and all(c.sound for c in catches)
