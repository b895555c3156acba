"""Call a plain function at an intended time, from a kernel timer (LAT-03).

The open-loop driver makes each request ready a few milliseconds early and leaves the write to
an alarm: the callback runs as soon as the loop polls the timer's file descriptor, ahead of any
task, and its last microseconds are a busy wait on the driver's clock so it never fires early.
``KernelAlarms`` uses one Linux ``timerfd`` per pending alarm (kept in a free list); elsewhere
``LoopAlarms`` uses the loop's own timer, which may wake up to a millisecond late.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import Final, Protocol

from testbed.load.timer import Clock, arm_timerfd, open_timerfd, timerfd_lib

MAX_BUSY_WAIT_NS: Final = 2_000_000
"""A kernel timer and the driver's clock may disagree by a little; never spin longer than this."""


class Alarms(Protocol):
    """``call_at(deadline_ns, fn)`` runs ``fn()`` once, not before ``deadline_ns`` on the clock;
    a deadline already past runs it at once. ``close()`` is idempotent."""

    def call_at(self, deadline_ns: int, fn: Callable[[], None]) -> None: ...

    def close(self) -> None: ...


def _busy_until(clock: Clock, deadline_ns: int) -> None:
    stop = time.monotonic_ns() + MAX_BUSY_WAIT_NS
    while clock() < deadline_ns and time.monotonic_ns() < stop:
        pass


class LoopAlarms:
    """The loop's timer, then a short busy wait."""

    def __init__(self, clock: Clock = time.time_ns) -> None:
        self._clock = clock

    def call_at(self, deadline_ns: int, fn: Callable[[], None]) -> None:
        delay = deadline_ns - self._clock()
        if delay <= 0:
            fn()
            return

        def due() -> None:
            _busy_until(self._clock, deadline_ns)
            fn()

        asyncio.get_running_loop().call_later(max(0.0, (delay - 1_000_000) / 1e9), due)

    def close(self) -> None:
        return None


class KernelAlarms:
    """One ``timerfd`` per pending alarm, armed in nanoseconds and watched by the loop."""

    def __init__(self, clock: Clock = time.time_ns) -> None:
        lib = timerfd_lib()
        if lib is None:
            raise OSError("timerfd is not available on this platform")
        self._lib = lib
        self._clock = clock
        self._free: list[int] = []
        self._open: set[int] = set()

    def _fd(self) -> int:
        if self._free:
            return self._free.pop()
        fd = open_timerfd(self._lib)
        self._open.add(fd)
        return fd

    def call_at(self, deadline_ns: int, fn: Callable[[], None]) -> None:
        delay = deadline_ns - self._clock()
        if delay <= 0:
            fn()
            return
        fd = self._fd()
        arm_timerfd(self._lib, fd, delay)
        loop = asyncio.get_running_loop()

        def fired() -> None:
            try:
                os.read(fd, 8)
            except BlockingIOError:  # a spurious wake-up: the timer has not expired yet
                return
            loop.remove_reader(fd)
            self._free.append(fd)
            _busy_until(self._clock, deadline_ns)
            fn()

        loop.add_reader(fd, fired)

    def close(self) -> None:
        for fd in self._open:
            try:
                asyncio.get_running_loop().remove_reader(fd)
            except RuntimeError:
                pass
            os.close(fd)
        self._open.clear()
        self._free.clear()


def best_alarms(clock: Clock = time.time_ns) -> Alarms:
    """Kernel alarms on Linux, else the loop's timer."""
    try:
        return KernelAlarms(clock)
    except OSError:
        return LoopAlarms(clock)
