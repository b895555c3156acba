"""Wake waiters when state changes: the event-driven alternative to polling.

``changed()`` is called by the owner after every mutation; ``wait_until(condition, timeout)``
re-checks the condition after each change and never on a timer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from testbed.errors import WaitTimeout

T = TypeVar("T")


class Notifier:
    def __init__(self) -> None:
        self._event = asyncio.Event()

    def changed(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_until(self, condition: Callable[[], T], timeout: float, what: str = "condition") -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (value := condition()):
            event = self._event
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise WaitTimeout(f"{what} not met within {timeout:.1f}s")
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                continue
        return value
