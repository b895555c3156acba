"""The sensitivity summary (RUN-07), pure: trials in, one row per check out, as text, JSON, Markdown
and a self-contained HTML page.

For each ladder: how many of the R runs of each grade caught the defect (strictly, as the selftest
judges: failed through an unsuppressed violation citing the defect's ids, with the defect visible
in the spans), the *smallest grade caught in R of R runs* (the finest grade whose every run caught
it), and the *false alarms*: clean runs of the same scenario, at the ladder's largest size, where the
check failed. Inconclusive clean runs are counted apart: not a false alarm, but not a pass either.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from testbed.selftest.grades import Ladder

SCHEMA: Final = "testbed.selftest.sensitivity/1"


@dataclass(frozen=True, slots=True)
class Trial:
    """One run of a ladder: a grade (``""`` for a clean run), whether the defect was caught, and the
    check's outcome; ``status`` is the judge's word (caught, missed, invisible, error) or ``clean``."""

    grade: str
    caught: bool
    outcome: str
    status: str = ""


@dataclass(frozen=True, slots=True)
class LadderSummary:
    ladder: Ladder
    repeats: int
    caught: tuple[tuple[str, int, int], ...]
    """(grade, runs that caught it, runs) per grade, coarse to fine."""
    smallest: str | None
    """The finest grade caught in every one of its runs; None when no grade was."""
    clean_runs: int
    false_alarms: int
    clean_inconclusive: int

    @property
    def target_met(self) -> bool:
        if self.smallest is None or not self.ladder.target:
            return False
        order = self.ladder.grades
        return order.index(self.smallest) >= order.index(self.ladder.target)

    def to_json(self) -> dict[str, Any]:
        lad = self.ladder
        return {"check": lad.check, "defect": lad.defect, "scenario": lad.scenario, "repeats": self.repeats,
                "grades": [{"grade": g, "caught": k, "runs": n} for g, k, n in self.caught],
                "smallest_caught_every_run": self.smallest, "target": lad.target, "target_met": self.target_met,
                "clean_runs": self.clean_runs, "false_alarms": self.false_alarms,
                "clean_inconclusive": self.clean_inconclusive}


def summarize(ladder: Ladder, trials: Sequence[Trial], repeats: int) -> LadderSummary:
    per_grade = []
    smallest = None
    for grade in ladder.grades:
        mine = [t for t in trials if t.grade == grade]
        k = sum(t.caught for t in mine)
        per_grade.append((grade, k, len(mine)))
        if mine and k == len(mine):
            smallest = grade
    clean = [t for t in trials if not t.grade]
    return LadderSummary(ladder, repeats, tuple(per_grade), smallest, len(clean),
                         sum(t.outcome == "failed" for t in clean),
                         sum(t.outcome == "inconclusive" for t in clean))


HEADER: Final = ("check", "defect", "scenario", "caught per grade", "smallest caught R/R", "target", "met",
                 "false alarms")


def _row(s: LadderSummary) -> tuple[str, ...]:
    grades = ", ".join(f"{g}: {k}/{n}" for g, k, n in s.caught)
    alarms = f"{s.false_alarms}/{s.clean_runs}" + (f" ({s.clean_inconclusive} inconclusive)" if s.clean_inconclusive else "")
    return (s.ladder.check, s.ladder.defect, s.ladder.scenario, grades, s.smallest or "none", s.ladder.target,
            "yes" if s.target_met else "NO", alarms)


def text_table(summaries: Sequence[LadderSummary]) -> str:
    rows = [HEADER, *(_row(s) for s in summaries)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def markdown_table(summaries: Sequence[LadderSummary]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(_row(s)) + " |" for s in summaries]
    return "\n".join(lines)


def report_json(run_id: str, summaries: Sequence[LadderSummary], seconds: float) -> dict[str, Any]:
    return {"schema": SCHEMA, "run_id": run_id, "seconds": round(seconds, 1),
            "checks": [s.to_json() for s in summaries]}


def report_html(run_id: str, summaries: Sequence[LadderSummary]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in HEADER)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in _row(s)) + "</tr>" for s in summaries)
    style = "body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid #999;padding:4px 8px}"
    return (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>selftest sensitivity {html.escape(run_id)}"
            f"</title><style>{style}</style></head><body><h1>Selftest sensitivity (RUN-07)</h1>"
            f"<p>{html.escape(run_id)}</p><table><tr>{head}</tr>{body}</table></body></html>")
