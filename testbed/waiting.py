"""The only polling loops the project owns.

Prefer waiting on an event, a ready line or a store's own ``wait_for``. Use these only where the
condition lives in another process (a counter on ``/metrics``, a file), and always with a deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from testbed.errors import WaitTimeout

T = TypeVar("T")

_FIRST_INTERVAL_S = 0.005
_MAX_INTERVAL_S = 0.1


def wait_until(
    condition: Callable[[], T],
    timeout: float,
    *,
    what: str = "condition",
    abort: Callable[[], str | None] | None = None,
) -> T:
    """Call ``condition`` until it returns a truthy value, backing off up to 100 ms.

    ``abort`` is checked on each round; a non-empty string it returns ends the wait at once with
    that reason (for example "process exited"), so failures surface without waiting the deadline.
    """
    deadline = time.monotonic() + timeout
    interval = _FIRST_INTERVAL_S
    while True:
        value = condition()
        if value:
            return value
        if abort is not None and (reason := abort()):
            raise WaitTimeout(f"gave up waiting for {what}: {reason}")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WaitTimeout(f"{what} not met within {timeout:.1f}s")
        time.sleep(min(interval, remaining))
        interval = min(interval * 2, _MAX_INTERVAL_S)


async def wait_until_async(
    condition: Callable[[], Awaitable[T]] | Callable[[], T],
    timeout: float,
    *,
    what: str = "condition",
) -> T:
    """Async twin of :func:`wait_until`; ``condition`` may be sync or async."""
    deadline = time.monotonic() + timeout
    interval = _FIRST_INTERVAL_S
    while True:
        value = condition()
        if asyncio.iscoroutine(value) or isinstance(value, asyncio.Future):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WaitTimeout(f"{what} not met within {timeout:.1f}s")
        await asyncio.sleep(min(interval, remaining))
        interval = min(interval * 2, _MAX_INTERVAL_S)
