"""The fake provider's waits end on their deadline, not on the loop's next millisecond (LAT-06)."""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from types import SimpleNamespace
from typing import Any

import pytest

from fake_providers.keys import SHUTDOWN
from fake_providers.sending import ClientGone, pause


class _Transport:
    def __init__(self) -> None:
        self.closing = False

    def is_closing(self) -> bool:
        return self.closing


def _request() -> Any:
    """What ``pause`` reads of a request: the app's shutdown event and the connection."""
    return SimpleNamespace(app={SHUTDOWN: asyncio.Event()}, transport=_Transport())


async def _lateness(wait: Any, seconds: float) -> int:
    start = time.monotonic_ns()
    await wait(seconds)
    return time.monotonic_ns() - start - int(seconds * 1e9)


async def test_pause_never_ends_early_and_is_closer_to_its_deadline_than_the_loop_timer() -> None:
    """Waits of 2 to 5 ms started at random points of a millisecond, the way requests arrive."""
    rng = random.Random(7)
    request = _request()
    ours, loops = [], []
    for _ in range(40):
        await asyncio.sleep(rng.random() / 1000)
        seconds = rng.uniform(0.002, 0.005)
        ours.append(await _lateness(lambda s: pause(request, s), seconds))
        loops.append(await _lateness(asyncio.sleep, seconds))
    assert min(ours) >= 0
    assert statistics.median(ours) < statistics.median(loops) / 2


async def test_a_long_pause_still_polls_for_a_client_that_left() -> None:
    request = _request()
    task = asyncio.ensure_future(pause(request, 30.0))
    await asyncio.sleep(0.01)
    request.transport.closing = True
    with pytest.raises(ClientGone):
        await asyncio.wait_for(task, 1.0)


async def test_an_endless_pause_ends_at_shutdown() -> None:
    request = _request()
    task = asyncio.ensure_future(pause(request, float("inf")))
    await asyncio.sleep(0.01)
    request.app[SHUTDOWN].set()
    with pytest.raises(ClientGone):
        await asyncio.wait_for(task, 1.0)
