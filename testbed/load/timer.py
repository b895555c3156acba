"""Precise waits for the open-loop driver (LAT-03): wake at an intended time, not up to a
millisecond after it.

An event loop's own timer is not precise enough for a load generator: asyncio rounds its poll
timeout up to the next millisecond and uvloop keeps timers in whole milliseconds, so
``asyncio.sleep`` wakes anywhere up to ~1 ms late. Each timer here has the same small interface,
``await timer.sleep_until(deadline_ns)`` on the driver's clock, and ``close()``:

- ``LoopTimer``    the loop's own timer (the imprecise baseline, kept for measurement);
- ``SpinTimer``    the loop's timer until ``margin_ns`` before the deadline, then yields to the loop
                   (``asyncio.sleep(0)``) until the clock reaches it: other callbacks keep running,
                   at the cost of some CPU in the last ``margin_ns``;
- ``TimerFd``      a Linux ``timerfd`` armed in nanoseconds and watched by the loop as a reader: the
                   poll wakes when the kernel timer fires, with no busy wait (Linux only);
- ``ThreadTimer``  a worker thread sleeps with ``time.sleep`` (nanosecond clock) and wakes the loop;
- ``timerfd+spin`` ``TimerFd`` until 0.5 ms before the deadline, then yields (the default).

``precise_timer`` returns the best one this platform offers; ``bench/send_lag.py`` measures them
side by side (docs/runner.md quotes the figures).
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import sys
import time
from collections.abc import Callable
from typing import Final, Protocol

Clock = Callable[[], int]
SPIN_MARGIN_NS: Final = 2_000_000
"""The loop's timer wakes at most ~1 ms late; 2 ms before the deadline leaves room for a busy loop."""
FINE_MARGIN_NS: Final = 500_000
"""A kernel timer wakes the process within a few hundred µs: the spin covers that much only."""

_CLOCK_MONOTONIC: Final = 1
_TFD_NONBLOCK: Final = os.O_NONBLOCK
_TFD_CLOEXEC: Final = getattr(os, "O_CLOEXEC", 0o2000000)


class Timer(Protocol):
    """Sleeps until a deadline on the driver's clock. Implementers never return early (the clock
    reads at least ``deadline_ns`` afterwards, bar a clock that jumps back) and ``close()`` is
    idempotent."""

    name: str

    async def sleep_until(self, deadline_ns: int) -> None: ...

    def close(self) -> None: ...


class LoopTimer:
    """The event loop's own timer: the baseline the others are measured against."""

    name = "loop"

    def __init__(self, clock: Clock = time.monotonic_ns) -> None:
        self._clock = clock

    async def sleep_until(self, deadline_ns: int) -> None:
        delay = deadline_ns - self._clock()
        if delay > 0:
            await asyncio.sleep(delay / 1e9)

    def close(self) -> None:
        return None


class SpinTimer:
    """A coarse timer (the loop's by default) until ``margin_ns`` before the deadline, then
    cooperative yields until the clock reaches it."""

    name = "spin"

    def __init__(self, clock: Clock = time.monotonic_ns, margin_ns: int = SPIN_MARGIN_NS,
                 coarse: Timer | None = None) -> None:
        self._clock = clock
        self._margin = margin_ns
        self._coarse = coarse or LoopTimer(clock)
        if coarse is not None:
            self.name = f"{coarse.name}+spin"

    async def sleep_until(self, deadline_ns: int) -> None:
        if deadline_ns - self._margin > self._clock():
            await self._coarse.sleep_until(deadline_ns - self._margin)
        while self._clock() < deadline_ns:
            await asyncio.sleep(0)

    def close(self) -> None:
        self._coarse.close()


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


def timerfd_lib() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.timerfd_create  # noqa: B018 - probe that the symbol exists
        libc.timerfd_settime  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def open_timerfd(lib: ctypes.CDLL) -> int:
    """A non-blocking, close-on-exec ``timerfd`` on the monotonic clock."""
    fd = lib.timerfd_create(_CLOCK_MONOTONIC, _TFD_NONBLOCK | _TFD_CLOEXEC)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "timerfd_create failed")
    return fd


def arm_timerfd(lib: ctypes.CDLL, fd: int, delay_ns: int) -> None:
    """Arm ``fd`` to fire once, ``delay_ns`` from now."""
    spec = _Itimerspec(_Timespec(0, 0), _Timespec(delay_ns // 1_000_000_000, delay_ns % 1_000_000_000))
    if lib.timerfd_settime(fd, 0, ctypes.byref(spec), None) != 0:
        raise OSError(ctypes.get_errno(), "timerfd_settime failed")


class TimerFd:
    """A kernel timer with nanosecond resolution, armed relative to now and polled by the loop.

    The delay is computed on the driver's clock, so any clock works (the runner stamps wall time).
    The file descriptor is opened lazily on first use and closed by ``close()``."""

    name = "timerfd"

    def __init__(self, clock: Clock = time.monotonic_ns) -> None:
        self._clock = clock
        self._fd = -1
        lib = timerfd_lib()
        if lib is None:
            raise OSError("timerfd is not available on this platform")
        self._lib = lib

    def _open(self) -> int:
        if self._fd < 0:
            self._fd = open_timerfd(self._lib)
        return self._fd

    async def sleep_until(self, deadline_ns: int) -> None:
        delay = deadline_ns - self._clock()
        if delay <= 0:
            return
        fd = self._open()
        arm_timerfd(self._lib, fd, delay)
        loop = asyncio.get_running_loop()
        fired: asyncio.Future[None] = loop.create_future()

        def on_ready() -> None:
            try:
                os.read(fd, 8)
            except BlockingIOError:  # a spurious wake-up: keep waiting
                return
            loop.remove_reader(fd)
            if not fired.done():
                fired.set_result(None)

        loop.add_reader(fd, on_ready)
        try:
            await fired
        finally:
            loop.remove_reader(fd)
        while self._clock() < deadline_ns:  # the driver's clock may tick apart from the kernel's
            await asyncio.sleep(0)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class ThreadTimer:
    """A worker thread does the sleeping (``time.sleep`` has sub-millisecond resolution) and the
    loop resumes when the thread's result comes back."""

    name = "thread"

    def __init__(self, clock: Clock = time.monotonic_ns) -> None:
        self._clock = clock

    async def sleep_until(self, deadline_ns: int) -> None:
        delay = deadline_ns - self._clock()
        if delay > 0:
            await asyncio.get_running_loop().run_in_executor(None, time.sleep, delay / 1e9)
        while self._clock() < deadline_ns:
            await asyncio.sleep(0)

    def close(self) -> None:
        return None


def timerfd_spin(clock: Clock = time.monotonic_ns) -> Timer:
    """``TimerFd`` until ``FINE_MARGIN_NS`` before the deadline (the process's wake-up takes a
    few hundred µs on a busy machine), then yields: precise, with little CPU spent spinning."""
    return SpinTimer(clock, FINE_MARGIN_NS, TimerFd(clock))


TIMERS: Final[dict[str, Callable[[Clock], Timer]]] = {
    "loop": LoopTimer, "spin": SpinTimer, "timerfd": TimerFd, "thread": ThreadTimer,
    "timerfd+spin": timerfd_spin,
}


def precise_timer(clock: Clock = time.monotonic_ns) -> Timer:
    """The most precise timer available here for its CPU cost: ``timerfd+spin`` on Linux, else
    ``spin`` on the loop's timer (bench/send_lag.py measures them)."""
    try:
        return timerfd_spin(clock)
    except OSError:
        return SpinTimer(clock)


def coarse_timer(clock: Clock = time.monotonic_ns) -> Timer:
    """A kernel timer with no busy wait (the loop's timer where there is none): for wake-ups that
    only need to come before a deadline, not on it."""
    try:
        return TimerFd(clock)
    except OSError:
        return LoopTimer(clock)
