"""``testbed run``: pick scenarios, run them on one session, write ``reports/<run>/results.json``.

``--set NAME`` picks every scenario of a named set (a scenario's ``sets:`` list; ``default`` is the
set of ``default: true``). Scenarios that need another stack shape (a NATS cluster, several
gateways or exporters) run on a session of their own, one per shape.

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


def scenario_sets(known: dict[str, Scenario]) -> dict[str, list[str]]:
    """Every set name with its scenarios' names, ``default`` included."""
    out: dict[str, list[str]] = {}
    for sc in known.values():
        for name in (*(("default",) if sc.default else ()), *sc.sets):
            out.setdefault(name, []).append(sc.name)
    return out


def select(names: Sequence[str], directory: Path = SCENARIOS_DIR, set_name: str | None = None) -> list[Scenario]:
    """The named scenarios (a name or a path to a file), the scenarios of ``set_name``, or the
    default set when neither is given."""
    from testbed.runner.scenario import load_scenario

    known = load_scenarios(directory)
    if set_name is not None:
        sets = scenario_sets(known)
        if set_name not in sets:
            raise ConfigError(f"unknown scenario set {set_name!r} (known: {', '.join(sorted(sets))})")
        chosen = [known[n] for n in sets[set_name]]
        return chosen + [sc for sc in select(names, directory) if sc not in chosen] if names else chosen
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
    # One session per stack shape; within it, scenarios with the same gateway knobs run back to
    # back, so the gateway restarts least.
    ordered = sorted(scenarios, key=lambda s: (s.stack.shape, s.stack.exclude_request_data,
                                               not s.stack.capture_content))
    progress = Progress(len(ordered))
    outcomes: list[ScenarioOutcome] = []
    gateway: dict = {}
    for shape in dict.fromkeys(sc.stack.shape for sc in ordered):
        group = [sc for sc in ordered if sc.stack.shape == shape]
        gateway = await _run_group(group, profile, run_id, progress, outcomes) or gateway
    return outcomes, gateway


async def _run_group(group: list[Scenario], profile: str | None, run_id: str, progress: Progress,
                     outcomes: list[ScenarioOutcome]) -> dict:
    first = group[0].stack
    workdir = Path(tempfile.mkdtemp(prefix="testbed-run-"))
    try:
        sess = await asyncio.to_thread(open_session, workdir, profile, first.exclude_request_data,
                                       first.capture_content, first.shape)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    try:
        gateway = {"name": sess.gut.name, "profile": profile or "reference (stack)",
                   "convention": sess.gut.convention, "reference_stack": sess.gut.is_reference}
        for sc in group:
            index = len(outcomes) + 1
            async with progress.running(index, sc.name):
                outcome = await run_scenario(sc, sess, run_id)
            progress.done(index, outcome)
            outcomes.append(outcome)
    finally:
        await asyncio.to_thread(sess.close)
        shutil.rmtree(workdir, ignore_errors=True)  # configs rendered for this run only; reports live in out_dir
    return gateway


def run_command(names: list[str], gateway_profile: str | None, out_dir: str, set_name: str | None = None) -> int:
    try:
        scenarios = select(names, set_name=set_name)
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
