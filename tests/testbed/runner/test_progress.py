"""The run's progress display: result lines always; a live running line only on a terminal."""

from __future__ import annotations

import asyncio
import io

from testbed.runner.progress import Progress
from testbed.runner.results import ScenarioOutcome


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def outcome(status: str = "passed", reasons: tuple[str, ...] = ()) -> ScenarioOutcome:
    return ScenarioOutcome("otlp-down", "otlp-down.yaml", status=status, reasons=reasons,
                           started_ns=0, finished_ns=2_500_000_000)


async def test_a_log_gets_only_result_lines_with_position_and_reason() -> None:
    log = io.StringIO()
    progress = Progress(3, log)
    async with progress.running(2, "otlp-down"):
        pass
    progress.done(2, outcome("failed", ("LOSS-01: 2 spans unaccounted",)))
    assert log.getvalue() == "[2/3]       failed  otlp-down  (2.5s)  LOSS-01: 2 spans unaccounted\n"


async def test_a_terminal_sees_the_running_scenario_until_it_ends() -> None:
    term = Terminal()
    progress = Progress(1, term, tick_s=0.01)
    seen = asyncio.Event()

    async def watch() -> None:
        while "running  baseline" not in term.getvalue():
            await asyncio.sleep(0.01)
        seen.set()

    async with progress.running(1, "baseline"):
        await asyncio.wait_for(watch(), 5)
    progress.done(1, outcome())
    assert seen.is_set()
    assert term.getvalue().endswith("\r\x1b[K[1/1]       passed  otlp-down  (2.5s)\n")
