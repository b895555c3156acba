"""``testbed selftest``: prove every check catches its seeded defect and passes on the clean
reference gateway (RUN-05).

One stack serves the whole run. For each scenario named in the catalogue (scenarios with the same
gateway knobs back to back): run it on the clean reference gateway, then once per defect of that
scenario with that one defect switched on (only the component concerned is restarted). Each run
goes through the runner's own ``run_scenario``, so the evidence, checks and verdicts are exactly
those of ``testbed run``. A defect run's drain is capped at :data:`DEFECT_DRAIN_S`, since some
defects lose spans on purpose and would otherwise hold the drain to its full deadline. After each
run the spans at the ingest are read back to confirm the defect was on (``testbed.defects``), and
after every switch the bus is left to settle (no event pending or unacked), so what a defect run
left behind is not delivered into the next run's evidence.
``--sensitivity`` runs the graded ladders instead (RUN-07, :mod:`testbed.selftest.sensitivity`).

``selftest_main(argv)`` returns 0 only when every clean run is sound and every defect is caught
(see :mod:`testbed.selftest.judge`), 1 otherwise, 2 on a usage or configuration error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Final

from testbed.bus import inspect as bus_inspect
from testbed.errors import ConfigError
from testbed.runner.cli_entry import select
from testbed.runner.results import ScenarioOutcome
from testbed.runner.run import RunSession, open_session, run_scenario
from testbed.runner.scenario import Scenario
from testbed.selftest.catalogue import Defect, by_name
from testbed.selftest.judge import Catch, CleanJudgement, RunView, judge_clean, judge_defect, passed
from testbed.selftest.switches import refuse_inherited_switches, switch, with_grade
from testbed.selftest.report import selftest_json
from testbed.selftest.table import catalogue_table, clean_table, defect_table
from testbed.selftest.visible import ingest_tags
from testbed.waiting import wait_until_async

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFECT_DRAIN_S: Final = 8.0
SETTLE_S: Final = 30.0
"""How long a switch waits for the bus backlog of the previous run to be exported."""


def view(out: ScenarioOutcome, tags: dict[str, int] | None = None) -> RunView:
    if out.verdict is None:
        return RunView(error=out.error or f"no verdict ({out.status})")
    return RunView(tuple(out.verdict.results), tuple(f for f, _ in out.verdict.suppressed), tags=tags or {})


def plan(defects: Sequence[Defect], scenarios: Sequence[Scenario]) -> list[tuple[Scenario, list[Defect]]]:
    """Scenarios in run order (same gateway knobs together), each with its defects."""
    ordered = sorted(scenarios, key=lambda s: (s.stack.exclude_request_data, not s.stack.capture_content, s.name))
    return [(sc, [d for d in defects if d.scenario == sc.name]) for sc in ordered]


def _line(text: str) -> None:
    print(text, flush=True)


async def run_one(sc: Scenario, sess: RunSession, run_id: str, label: str) -> RunView:
    """One scenario run, seen with the defect tags of the spans it left at the ingest."""
    started = time.monotonic()
    out = await run_scenario(sc, sess, run_id)
    tags = await ingest_tags(sess.middleware_url) if out.verdict is not None else {}
    _line(f"{out.status:>12}  {sc.name} [{label}]  ({time.monotonic() - started:.1f}s)")
    return view(out, tags)


async def open_selftest_session(first: Scenario) -> RunSession:
    workdir = Path(tempfile.mkdtemp(prefix="testbed-selftest-"))
    return await asyncio.to_thread(open_session, workdir, None, first.stack.exclude_request_data,
                                   first.stack.capture_content)


async def switch_and_settle(sess: RunSession, defect: Defect | None, grade: str = "") -> None:
    """Switch the defect (None: all off), then wait until the exporter has settled every event on
    the bus: a defect run's drain is capped, and its leftovers must not reach the next run."""
    await asyncio.to_thread(switch, sess, defect, grade)

    async def settled() -> bool:
        return not await bus_inspect.pending_events(sess.stack.nats_url)

    try:
        await wait_until_async(settled, SETTLE_S, what="the bus backlog")
    except Exception:  # noqa: BLE001 - the next run still goes; its loss check will show any leftover
        _line(f"{'':>12}  the bus still holds events after {SETTLE_S:.0f} s")


def defect_variant(sc: Scenario) -> Scenario:
    return replace(sc, drain_timeout_s=min(sc.drain_timeout_s, DEFECT_DRAIN_S))


async def run_selftest(defects: Sequence[Defect], scenarios: Sequence[Scenario],
                       run_id: str) -> tuple[list[CleanJudgement], list[Catch]]:
    steps = plan(defects, scenarios)
    sess = await open_selftest_session(steps[0][0])
    cleans: list[CleanJudgement] = []
    catches: list[Catch] = []
    try:
        for sc, mine in steps:
            await switch_and_settle(sess, None)
            clean = await run_one(sc, sess, run_id, "clean")
            cleans.append(judge_clean(sc.name, clean, {d.check for d in mine}))
            for d in mine:
                await switch_and_settle(sess, d)
                run = await run_one(defect_variant(sc), sess, run_id, d.name)
                catches.append(judge_defect(d, run, clean, with_grade(d.name, "")))
    finally:
        await asyncio.to_thread(sess.close)
    return cleans, catches


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="testbed selftest",
                                description="prove each check catches its seeded defect (RUN-05)")
    p.add_argument("--defect", action="append", default=[], metavar="NAME",
                   help="run only this defect (repeatable); default: the whole catalogue")
    p.add_argument("--list", action="store_true", help="print the defect catalogue and exit")
    p.add_argument("--sensitivity", action="store_true",
                   help="run the graded defects instead and report the smallest grade each check catches (RUN-07)")
    p.add_argument("--repeats", type=int, default=5, metavar="R",
                   help="with --sensitivity: runs per grade and clean runs per ladder (default 5)")
    p.add_argument("--check", action="append", default=[], metavar="CHECK",
                   help="with --sensitivity: only this check's ladder (repeatable)")
    p.add_argument("--out", default="reports", metavar="DIR", help="where the selftest report goes (default reports)")
    return p


def _finish(report: Path, run_id: str, cleans: list[CleanJudgement], catches: list[Catch], seconds: float) -> bool:
    """Write the report, print both tables and the verdict line; the strict verdict."""
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(selftest_json(run_id, cleans, catches, seconds), indent=2) + "\n")
    _line("")
    _line(clean_table(cleans))
    _line("")
    _line(defect_table(catches))
    ok = passed(cleans, catches)
    strong = [c for c in catches if c.defect.severity == "violation"]
    warned = [c for c in catches if c.defect.severity == "warning"]
    _line(f"\ntestbed selftest: {'passed' if ok else 'FAILED'}: {sum(c.caught for c in strong)}/{len(strong)} "
          f"defects caught, {sum(c.sound for c in warned)}/{len(warned)} warned, "
          f"{sum(c.ok for c in cleans)}/{len(cleans)} clean runs passed ({seconds:.0f}s); report in {report}")
    return ok


def selftest_main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.sensitivity:
        from testbed.selftest.sensitivity import sensitivity_main

        return sensitivity_main(args)
    try:
        defects = by_name(args.defect)
    except KeyError as exc:
        print(f"testbed: unknown defect {exc.args[0]!r} (see --list)", file=sys.stderr)
        return EXIT_USAGE
    if args.list:
        _line(catalogue_table(defects))
        return EXIT_OK
    try:
        refuse_inherited_switches()
        scenarios = select(sorted({d.scenario for d in defects}))
    except ConfigError as exc:
        print(f"testbed: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    run_id = "selftest-" + time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)
    started = time.monotonic()
    cleans, catches = asyncio.run(run_selftest(defects, scenarios, run_id))
    ok = _finish(Path(args.out) / run_id / "selftest.json", run_id, cleans, catches, time.monotonic() - started)
    return EXIT_OK if ok else EXIT_FAILED
