"""The progress display of ``testbed run``: which scenario is running, then one result line each.

On a terminal the running line is redrawn in place, with the time it has taken so far; in a CI log
(not a terminal) only the result lines appear, so the log stays readable.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TextIO

from testbed.runner.results import ScenarioOutcome


def result_line(index: int, total: int, outcome: ScenarioOutcome) -> str:
    seconds = (outcome.finished_ns - outcome.started_ns) / 1e9
    reason = f"  {outcome.reasons[0][:160]}" if outcome.reasons else ""
    return f"[{index}/{total}] {outcome.status:>12}  {outcome.name}  ({seconds:.1f}s){reason}"


@dataclass
class Progress:
    total: int
    stream: TextIO = field(default_factory=lambda: sys.stdout)
    tick_s: float = 0.5

    @property
    def live(self) -> bool:
        return bool(getattr(self.stream, "isatty", lambda: False)())

    @asynccontextmanager
    async def running(self, index: int, name: str) -> AsyncIterator[None]:
        """Show ``name`` as running (redrawn on a terminal) for as long as the block lasts."""
        ticker = asyncio.create_task(self._tick(index, name)) if self.live else None
        try:
            yield
        finally:
            if ticker is not None:
                ticker.cancel()
                self.stream.write("\r\x1b[K")

    async def _tick(self, index: int, name: str) -> None:
        started = time.monotonic()
        while True:
            self.stream.write(f"\r\x1b[K[{index}/{self.total}]      running  {name}  {time.monotonic() - started:.0f}s")
            self.stream.flush()
            await asyncio.sleep(self.tick_s)

    def done(self, index: int, outcome: ScenarioOutcome) -> None:
        print(result_line(index, self.total, outcome), file=self.stream, flush=True)
