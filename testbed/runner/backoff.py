"""Restart backoff for supervised children (pure: no clock, no process).

A child that dies is restarted after a delay that doubles with each death in a row, from
``initial_s`` up to ``cap_s``. The first restart is quick because a dead exporter holds up every
span on the bus; the doubling keeps a child that dies at start-up from spinning the CPU. A child
that stayed up for ``reset_after_s`` counts as healthy again, so its next death starts over at
``initial_s`` (the shape of Kubernetes' crash-loop backoff and systemd's ``RestartSec``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    initial_s: float = 0.1
    factor: float = 2.0
    cap_s: float = 10.0
    reset_after_s: float = 30.0

    def delay(self, deaths_in_a_row: int) -> float:
        """The wait before restart number ``deaths_in_a_row`` (1 for the first death)."""
        if deaths_in_a_row < 1:
            raise ValueError("deaths_in_a_row starts at 1")
        return min(self.cap_s, self.initial_s * self.factor ** (deaths_in_a_row - 1))

    def streak(self, previous_streak: int, uptime_s: float) -> int:
        """Deaths in a row after a child that ran ``uptime_s`` died."""
        return 1 if uptime_s >= self.reset_after_s else previous_streak + 1
