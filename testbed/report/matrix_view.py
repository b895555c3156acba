"""The scenario × check matrix at the top of the report, pure: one row per scenario in the order
the run ran them, one column per check, each cell the check's outcome linking to its row in the
scenario's section, so a failing cell is one click from its findings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from testbed.report.summary import ScenarioView

GLYPHS: Final = {"passed": "✓", "failed": "✗", "inconclusive": "?", "not_applicable": "–", "error": "!"}
"""One character per outcome; the colour says the same, the glyph keeps it readable without colour."""


@dataclass(frozen=True, slots=True)
class MatrixCell:
    outcome: str
    """Empty when the check did not run in that scenario."""
    glyph: str
    href: str
    title: str


@dataclass(frozen=True, slots=True)
class MatrixRow:
    number: int
    name: str
    anchor: str
    status: str
    cells: tuple[MatrixCell, ...]


@dataclass(frozen=True, slots=True)
class Matrix:
    checks: tuple[str, ...]
    """Columns, in the order the checks first appear in the run."""
    rows: tuple[MatrixRow, ...]


def matrix(scenarios: Sequence[ScenarioView]) -> Matrix:
    checks = tuple(dict.fromkeys(c.name for s in scenarios for c in s.checks))
    rows = []
    for s in scenarios:
        by_name = {c.name: c for c in s.checks}
        cells = []
        for name in checks:
            c = by_name.get(name)
            if c is None:
                cells.append(MatrixCell("", "", "", f"{s.name} · {name}: not run"))
                continue
            detail = c.reason or c.tally or c.judged
            title = f"{s.name} · {name}: {c.outcome}" + (f" ({detail})" if detail else "")
            cells.append(MatrixCell(c.outcome, GLYPHS.get(c.outcome, "·"), f"#{c.anchor}", title))
        rows.append(MatrixRow(s.number, s.name, s.anchor, s.status, tuple(cells)))
    return Matrix(checks, tuple(rows))
