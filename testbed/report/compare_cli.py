"""``testbed compare``: read two ``results.json`` files, print the Markdown summary, return the
exit status (0 no regression, 1 regression, 2 usage or input error). The rules are in
:mod:`testbed.report.compare`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from testbed.report.compare import (
    DEFAULT_FLOOR_MS, DEFAULT_MIN_TAIL, DEFAULT_PCT, CheckChange, Comparison, InputError, OverheadDelta, Tolerance, check_schema,
    compare_results,
)

EXIT_OK, EXIT_REGRESSION, EXIT_INPUT = 0, 1, 2

EXAMPLES = """\
examples:
  testbed compare baseline.json reports/20250101-120000-ab12/results.json
  testbed compare base.json cur.json --tolerance-pct 15 --floor-ms 2 >> "$GITHUB_STEP_SUMMARY"

exit status: 0 no regression, 1 regression, 2 usage or input error
"""


def cell(text: object) -> str:
    """A Markdown table cell: pipes escaped, one line."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")[:300]


def _check_table(title: str, rows: Sequence[CheckChange]) -> list[str]:
    if not rows:
        return []
    out = [f"### {title}", "", "| scenario | check | baseline | current | detail |", "|---|---|---|---|---|"]
    out += [f"| {cell(r.scenario)} | {cell(r.check)} | {r.baseline} | {r.current} | {cell(r.detail)} |" for r in rows]
    return out + [""]


def _overhead_table(rows: Sequence[OverheadDelta]) -> list[str]:
    if not rows:
        return []
    out = ["### Gateway overhead (pX gateway − pX direct, ms)", "",
           "| scenario | phase/mode/metric | pX | baseline | current | change | tolerance | verdict |",
           "|---|---|---|---:|---:|---:|---:|---|"]
    for d in rows:
        tol = "–" if d.tolerance_ms is None else f"±{d.tolerance_ms:.2f}"
        verdict = f"**{d.verdict}**" if d.verdict == "regression" else d.verdict
        out.append(f"| {cell(d.scenario)} | {cell(d.group)} | {d.percentile} | {d.baseline_ms:.2f} | "
                   f"{d.current_ms:.2f} | {d.delta_ms:+.2f} | {tol} | {verdict} |")
    return out + [""]


def render_markdown(c: Comparison) -> str:
    n = len(c.regressions) + len(c.overhead_regressions)
    head = f"## testbed compare: {n} regression{'s' if n != 1 else ''}" if c.regressed \
        else "## testbed compare: no regression"
    lines = [head, ""]
    lines += _check_table("Regressions: checks that newly fail, vanished or went inconclusive", c.regressions)
    lines += _check_table("Checks that newly pass", c.fixed)
    lines += _check_table("Other check changes", c.other)
    lines += _overhead_table(c.overhead)
    lines += [f"_{cell(note)}_" for note in c.notes]
    return "\n".join(lines).rstrip() + "\n"


def read_results(path: str) -> dict[str, Any]:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: {exc}") from exc
    return check_schema(doc, path)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="testbed compare", description="Gate CI on regressions between two runs.",
                                epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("baseline", help="results.json of the baseline run")
    p.add_argument("current", help="results.json of the run to judge")
    p.add_argument("--tolerance-pct", type=float, default=DEFAULT_PCT,
                   help="relative band, %% of the baseline gateway percentile (default: %(default)s)")
    p.add_argument("--floor-ms", type=float, default=DEFAULT_FLOOR_MS,
                   help="smallest band in ms (default: %(default)s)")
    p.add_argument("--min-tail", type=int, default=DEFAULT_MIN_TAIL,
                   help="samples beyond a percentile below which the band widens (default: %(default)s)")
    return p


def compare_main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    stdout = out or sys.stdout
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on a usage error and 0 for --help
        return int(exc.code or 0)
    try:
        baseline, current = read_results(args.baseline), read_results(args.current)
    except InputError as exc:
        print(f"testbed compare: {exc}", file=sys.stderr)
        return EXIT_INPUT
    comparison = compare_results(baseline, current, Tolerance(args.tolerance_pct, args.floor_ms, args.min_tail))
    stdout.write(render_markdown(comparison))
    return EXIT_REGRESSION if comparison.regressed else EXIT_OK

