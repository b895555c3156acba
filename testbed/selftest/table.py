"""The selftest's printed summary, pure: one table of clean runs, one of defects."""

from __future__ import annotations

from collections.abc import Sequence

from testbed.selftest.catalogue import Defect
from testbed.selftest.judge import Catch, CleanJudgement


def _rows(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*header).rstrip(), *(fmt.format(*r).rstrip() for r in rows)]


def clean_table(cleans: Sequence[CleanJudgement]) -> str:
    rows = [(c.scenario, "passed" if c.ok else "NOT PASSED", " ".join(f"{k}={v}" for k, v in c.outcomes))
            for c in cleans]
    lines = _rows(("clean scenario", "verdict", "checks"), rows)
    lines += [f"  {c.scenario}: {p}" for c in cleans for p in c.problems]
    return "\n".join(lines)


def defect_table(catches: Sequence[Catch]) -> str:
    """One row per defect; ``status`` is caught / warned (warning-level rows) / missed / invisible."""
    rows = []
    for c in catches:
        d = c.defect
        found = f"{c.finding.spec_id} {c.finding.severity}" if c.finding else "-"
        status = c.status if c.sound else c.status.upper()
        rows.append((c.switch or d.name, d.component, d.check, "|".join(d.spec_ids), status, c.outcome, found,
                     ",".join(c.collateral) or "-"))
    lines = _rows(("defect", "component", "check", "expected spec id", "status", "outcome", "finding",
                   "also failed"), rows)
    lines += [f"  {c.switch or c.defect.name}: {c.reason}" for c in catches if not c.sound and c.reason]
    return "\n".join(lines)


def catalogue_table(defects: Sequence[Defect]) -> str:
    rows = [(d.name, d.component, d.check, "|".join(d.spec_ids), d.severity, d.scenario, d.description)
            for d in defects]
    return "\n".join(_rows(("defect", "component", "check", "spec ids", "severity", "scenario", "what breaks"), rows))
