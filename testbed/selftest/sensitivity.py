"""``testbed selftest --sensitivity [--repeats R] [--check C]``: how small a defect each check catches
(RUN-07).

For each ladder of :data:`testbed.selftest.grades.LADDERS`, on one stack: R clean runs of the
ladder's scenario at its largest size, then each grade, coarse to fine, R times (the component is
restarted once per grade). Only the ladder's check runs: the others are not under measure, and
some of them cost more than linear time on the long runs the rare grades need. Every run is judged as the selftest judges (:func:`judge_defect`), so a
catch needs the defect visible in the spans and an unsuppressed violation citing its ids. The
summary goes to the terminal and to ``<out>/<run id>/`` as ``sensitivity.json``, ``sensitivity.md``
and ``index.html``. Exit status: 0 when every ladder meets its target with no false alarm, 1
otherwise, 2 on a usage or configuration error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import time
from pathlib import Path

from testbed.errors import ConfigError
from testbed.runner.cli_entry import select
from testbed.runner.run import RunSession
from testbed.runner.scenario import Scenario
from testbed.selftest.catalogue import Defect, by_name
from testbed.selftest.grades import Ladder, finest, ladders_for, only_check, sized
from testbed.selftest.judge import RunView, judge_defect
from testbed.selftest.run import (
    EXIT_FAILED, EXIT_OK, EXIT_USAGE, defect_variant, open_selftest_session, run_one, switch_and_settle,
)
from testbed.selftest.sensitivity_table import (
    LadderSummary, Trial, markdown_table, report_html, report_json, summarize, text_table,
)
from testbed.selftest.switches import refuse_inherited_switches, with_grade


async def _ladder(lad: Ladder, shipped: Scenario, sess: RunSession, run_id: str, repeats: int) -> list[Trial]:
    defect: Defect = by_name([lad.defect])[0]
    sc = only_check(shipped, lad.check)
    trials: list[Trial] = []
    await switch_and_settle(sess, None)
    largest = sized(sc, lad, finest(lad))
    clean = RunView()
    for i in range(repeats):
        run = await run_one(largest, sess, run_id, f"clean {i + 1}/{repeats}")
        clean = clean if clean.results else run
        trials.append(Trial("", False, "error" if run.error else run.outcome(lad.check), "clean"))
    for grade, parsed in zip(lad.grades, lad.parsed()):
        await switch_and_settle(sess, defect, grade)
        variant = defect_variant(sized(sc, lad, parsed))
        for i in range(repeats):
            label = f"{with_grade(defect.name, grade)} {i + 1}/{repeats}"
            catch = judge_defect(defect, await run_one(variant, sess, run_id, label), clean,
                                 with_grade(defect.name, grade))
            trials.append(Trial(grade, catch.caught, catch.outcome, catch.status))
    return trials


async def run_sensitivity(ladders: tuple[Ladder, ...], scenarios: dict[str, Scenario], run_id: str,
                          repeats: int) -> list[LadderSummary]:
    sess = await open_selftest_session(scenarios[ladders[0].scenario])
    summaries = []
    try:
        for lad in ladders:
            trials = await _ladder(lad, scenarios[lad.scenario], sess, run_id, repeats)
            summaries.append(summarize(lad, trials, repeats))
    finally:
        await asyncio.to_thread(sess.close)
    return summaries


def _write(out: Path, run_id: str, summaries: list[LadderSummary], seconds: float) -> Path:
    folder = out / run_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sensitivity.json").write_text(json.dumps(report_json(run_id, summaries, seconds), indent=2) + "\n")
    (folder / "sensitivity.md").write_text(markdown_table(summaries) + "\n")
    (folder / "index.html").write_text(report_html(run_id, summaries))
    return folder


def sensitivity_main(args: argparse.Namespace) -> int:
    if args.repeats < 1:
        print("testbed: --repeats must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    try:
        ladders = ladders_for(args.check)
    except KeyError as exc:
        print(f"testbed: no graded defect for check {exc.args[0]!r}", file=sys.stderr)
        return EXIT_USAGE
    try:
        refuse_inherited_switches()
        found = select(sorted({lad.scenario for lad in ladders}))
    except ConfigError as exc:
        print(f"testbed: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    scenarios = {sc.name: sc for sc in found}
    ordered = tuple(sorted(ladders, key=lambda lad: (scenarios[lad.scenario].stack.exclude_request_data,
                                                     lad.check)))
    run_id = "selftest-sensitivity-" + time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)
    started = time.monotonic()
    summaries = asyncio.run(run_sensitivity(ordered, scenarios, run_id, args.repeats))
    seconds = time.monotonic() - started
    folder = _write(Path(args.out), run_id, summaries, seconds)
    print("\n" + text_table(summaries), flush=True)
    ok = all(s.target_met and s.false_alarms == 0 and s.clean_inconclusive == 0 for s in summaries)
    print(f"\ntestbed selftest --sensitivity: {'targets met' if ok else 'TARGETS NOT MET'} "
          f"({seconds:.0f}s, R={args.repeats}); report in {folder}", flush=True)
    return EXIT_OK if ok else EXIT_FAILED
