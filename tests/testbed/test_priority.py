"""The load generator's sending thread is raised for the load phase and put back after, and a
process started meanwhile stays in the normal class at the base priority (LAT-03); without the
privilege nothing changes and the block says so."""

from __future__ import annotations

import os
import subprocess
import sys

from testbed.priority import child_priority, raised_priority

PROBE = "import os; print(os.sched_getscheduler(0), os.getpriority(os.PRIO_PROCESS, 0))"


def _state() -> tuple[int, int]:
    return os.sched_getscheduler(0), os.getpriority(os.PRIO_PROCESS, 0)


def test_realtime_is_used_when_allowed_and_a_child_stays_normal() -> None:
    before = _state()
    with raised_priority() as how:
        inside = _state()
        child = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True,
                               preexec_fn=child_priority)
    assert _state() == before
    if how == "realtime":
        assert inside[0] & ~getattr(os, "SCHED_RESET_ON_FORK", 0) == os.SCHED_RR
    elif how == "nice":
        assert inside[1] == max(-20, before[1] - 10)
    else:
        assert inside == before
    assert tuple(map(int, child.stdout.split())) == (os.SCHED_OTHER, before[1])


def test_the_nice_fallback_raises_and_restores() -> None:
    before = _state()
    with raised_priority(-5, realtime=False) as how:
        inside = _state()
    assert _state() == before
    assert how in ("nice", "none")
    assert inside[1] == (max(-20, before[1] - 5) if how == "nice" else before[1])
