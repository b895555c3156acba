"""A fake clock for the sender: time moves only when the sender sleeps, so retry and backoff
tests run instantly and record every wait."""

from __future__ import annotations

import asyncio


class FakeClock:
    """Monotonic and wall time that only move when the sender sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return 1_700_000_000.0 + self.now

    async def sleep(self, seconds: float, interrupt: asyncio.Event) -> bool:
        self.sleeps.append(seconds)
        self.now += seconds
        return interrupt.is_set()
