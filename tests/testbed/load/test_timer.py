"""The driver's precision (LAT-03): on a fake clock, every send is asked for at exactly its
intended time and its lag is what the timer overshot; the spin timer never returns early and stops
at the first clock reading past the deadline; on the real loop the precise timer sends closer to
the intended time than the loop's millisecond timer (a ratio, robust to a shared CPU); the cyclic
collector is paused while the schedule runs."""

from __future__ import annotations

import asyncio
import time

import pytest

from testbed.checks.evidence import ClientRecord
from testbed.load.client import Request, drive
from testbed.load.schedule import build_schedule
from testbed.percentiles import percentile
from testbed.load.timer import LoopTimer, SpinTimer, TimerFd, precise_timer


class FakeClock:
    """Reads advance time by ``step_ns``, so a busy wait on it ends."""

    def __init__(self, step_ns: int = 0) -> None:
        self.now = 1_000_000_000
        self.step = step_ns

    def __call__(self) -> int:
        self.now += self.step
        return self.now


class OvershootTimer:
    """Jumps the fake clock to the deadline plus a fixed overshoot and records what was asked."""

    name = "fake"

    def __init__(self, clock: FakeClock, overshoot_ns: int) -> None:
        self.clock, self.overshoot, self.asked = clock, overshoot_ns, []
        self.closed = False

    async def sleep_until(self, deadline_ns: int) -> None:
        self.asked.append(deadline_ns)
        self.clock.now = max(self.clock.now, deadline_ns + self.overshoot)

    def close(self) -> None:
        self.closed = True


async def ok(req: Request) -> ClientRecord:
    return ClientRecord(req.correlation_id, 0, 0, status=200, complete_ns=req.intended_ns)


async def test_on_a_fake_clock_each_send_is_asked_for_at_its_intended_time_LAT_03() -> None:
    clock = FakeClock()
    timer = OvershootTimer(clock, overshoot_ns=70_000)
    start = clock.now
    schedule = build_schedule(250, 0.2)
    result = await drive(schedule, ok, clock=clock, timer=timer)
    assert timer.asked == [start + a.offset_ns for a in schedule.arrivals]
    assert [r.send_lag_ns for r in result.records] == [70_000] * len(schedule)
    assert timer.closed


async def test_a_senders_own_stamp_is_the_send_time_LAT_03() -> None:
    clock = FakeClock()

    async def stamped(req: Request) -> ClientRecord:
        return ClientRecord(req.correlation_id, 0, req.intended_ns + 123_000, status=200, complete_ns=1)

    result = await drive(build_schedule(100, 0.05), stamped, clock=clock, timer=OvershootTimer(clock, 5_000))
    assert {r.send_lag_ns for r in result.records} == {123_000}


async def test_spin_timer_returns_at_the_first_reading_past_the_deadline_LAT_03() -> None:
    clock = FakeClock(step_ns=40_000)

    class Coarse:
        name = "coarse"

        async def sleep_until(self, deadline_ns: int) -> None:
            clock.now = deadline_ns - 1_000  # a coarse timer that wakes just short of its target

        def close(self) -> None:
            return None

    timer = SpinTimer(clock, margin_ns=500_000, coarse=Coarse())
    for deadline in (clock.now + 3_000_000, clock.now + 7_777_777):
        await timer.sleep_until(deadline)
        late = clock.now - deadline
        assert 0 <= late < 40_000


async def real_lags(timer_factory, n: int = 150, rate: float = 400.0) -> list[float]:  # type: ignore[no-untyped-def]
    async def send(req: Request) -> ClientRecord:
        return ClientRecord(req.correlation_id, 0, time.monotonic_ns(), status=200, complete_ns=1)

    result = await drive(build_schedule(rate, n / rate), send, timer=timer_factory(time.monotonic_ns))
    return [max(r.send_lag_ns, 0) for r in result.records]


async def test_on_the_real_loop_the_precise_timer_beats_the_loops_own_timer_LAT_03() -> None:
    loop_lags = await real_lags(LoopTimer)
    precise_lags = await real_lags(precise_timer)
    # The loop's timer wakes up to 1 ms late by construction (whole-millisecond poll timeouts):
    # its median lag is a few hundred µs. The precise timer's median must be well under it; only
    # a ratio is asserted, since the CPU is shared.
    assert percentile(precise_lags, 50) < 0.5 * percentile(loop_lags, 50)
    assert min(precise_lags) >= 0


async def test_timerfd_never_wakes_before_its_deadline_LAT_03() -> None:
    try:
        timer = TimerFd()
    except OSError:
        pytest.skip("timerfd is Linux only; precise_timer falls back to spinning on the loop's timer")
    try:
        for delay in (200_000, 1_500_000, 3_000_000):
            deadline = time.monotonic_ns() + delay
            await timer.sleep_until(deadline)
            assert time.monotonic_ns() >= deadline
    finally:
        timer.close()
        timer.close()  # idempotent


async def test_a_deadline_in_the_past_returns_at_once() -> None:
    timer = precise_timer()
    try:
        await asyncio.wait_for(timer.sleep_until(time.monotonic_ns() - 1), timeout=1)
    finally:
        timer.close()


async def test_the_collector_is_paused_during_the_load_and_restored_after_LAT_03() -> None:
    import gc

    seen: list[bool] = []

    async def send(req: Request) -> ClientRecord:
        seen.append(gc.isenabled())
        return ClientRecord(req.correlation_id, 0, 0, status=200, complete_ns=1)

    assert gc.isenabled()
    await drive(build_schedule(1000, 0.005), send)
    assert seen and not any(seen) and gc.isenabled()
    gc.disable()
    try:
        await drive(build_schedule(1000, 0.002), send)
        assert not gc.isenabled()  # a caller that had it off keeps it off
    finally:
        gc.enable()
