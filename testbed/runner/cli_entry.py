"""``testbed run``: pick scenarios, run them on one session, write ``reports/<run>/results.json``.

``run_command(names, gateway_profile, out_dir)`` returns the exit status: 0 only when every
scenario passed (RUN-01), 1 when one failed, was inconclusive or broke, 2 on a configuration
error (a broken scenario or profile file, an unknown scenario name).
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from testbed.errors import ConfigError
from testbed.report.writer import write_reports
from testbed.runner.progress import Progress
from testbed.runner.results import ScenarioOutcome, environment, overall_status, results_json
from testbed.runner.run import PROFILES_DIR, open_session, run_scenario
from testbed.runner.scenario import Scenario, load_scenarios
from testbed.shipped import shipped_dir
import testbed.loop

SCENARIOS_DIR = shipped_dir("scenarios")
EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


def select(names: Sequence[str], directory: Path = SCENARIOS_DIR) -> list[Scenario]:
    """The named scenarios (a name or a path to a file), or the default set when none is named."""
    from testbed.runner.scenario import load_scenario

    known = load_scenarios(directory)
    if not names:
        chosen = [sc for sc in known.values() if sc.default]
        if not chosen:
            raise ConfigError(f"{directory}: no scenario is marked 'default: true'")
        return chosen
    out = []
    for name in names:
        if name in known:
            out.append(known[name])
        elif name.endswith((".yaml", ".yml")) and Path(name).is_file():
            out.append(load_scenario(name))
        else:
            raise ConfigError(f"unknown scenario {name!r} (known: {', '.join(sorted(known))})")
    return out


def resolve_profile(gateway_profile: str | None) -> str | None:
    if gateway_profile is None:
        return None
    for candidate in (Path(gateway_profile), PROFILES_DIR / f"{gateway_profile}.yaml"):
        if candidate.is_file():
            return str(candidate)
    raise ConfigError(f"no gateway profile {gateway_profile!r} (a file, or a name in profiles/)")


async def run_all(scenarios: Sequence[Scenario], profile: str | None, run_id: str) -> tuple[list[ScenarioOutcome], dict]:
    # Scenarios with the same gateway knobs run back to back, so the gateway restarts least.
    ordered = sorted(scenarios, key=lambda s: (s.stack.exclude_request_data, not s.stack.capture_content))
    first = ordered[0].stack
    workdir = Path(tempfile.mkdtemp(prefix="testbed-run-"))
    try:
        sess = await asyncio.to_thread(open_session, workdir, profile, first.exclude_request_data,
                                       first.capture_content)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    outcomes = []
    try:
        gateway = {"name": sess.gut.name, "profile": profile or "reference (stack)",
                   "convention": sess.gut.convention, "reference_stack": sess.gut.is_reference}
        progress = Progress(len(ordered))
        for index, sc in enumerate(ordered, 1):
            async with progress.running(index, sc.name):
                outcome = await run_scenario(sc, sess, run_id)
            progress.done(index, outcome)
            outcomes.append(outcome)
    finally:
        await asyncio.to_thread(sess.close)
        shutil.rmtree(workdir, ignore_errors=True)  # configs rendered for this run only; reports live in out_dir
    return outcomes, gateway


def run_command(names: list[str], gateway_profile: str | None, out_dir: str) -> int:
    try:
        scenarios = select(names)
        profile = resolve_profile(gateway_profile)
    except ConfigError as exc:
        print(f"testbed: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)
    started = time.time_ns()
    outcomes, gateway = testbed.loop.run(run_all(scenarios, profile, run_id))
    doc = results_json(run_id, gateway, outcomes, started, time.time_ns(), environment())
    written = write_reports(doc, Path(out_dir) / run_id, write_results=True)
    status = overall_status(outcomes)
    print(f"testbed: {status}: {sum(o.status == 'passed' for o in outcomes)}/{len(outcomes)} scenarios passed; "
          f"report {written['html']}", flush=True)
    return EXIT_OK if status == "passed" else EXIT_FAILED
