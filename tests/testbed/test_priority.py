"""The load generator's sending thread is raised for the load phase and put back after, and a
process started meanwhile (with no ``preexec_fn``) begins in the normal class and not raised
(LAT-03); without the privilege nothing changes and the block says so."""

from __future__ import annotations

import os
import subprocess
import sys

from testbed.priority import raised_priority

PROBE = "import os; print(os.sched_getscheduler(0), os.getpriority(os.PRIO_PROCESS, 0))"
RESET = getattr(os, "SCHED_RESET_ON_FORK", 0)


def _state() -> tuple[int, int]:
    return os.sched_getscheduler(0) & ~RESET, os.getpriority(os.PRIO_PROCESS, 0)


def _child() -> tuple[int, int]:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
    policy, nice = map(int, out.split())
    return policy & ~RESET, nice


def test_realtime_is_used_when_allowed_and_a_child_starts_normal() -> None:
    before = _state()
    with raised_priority() as how:
        inside = _state()
        child = _child()
    assert _state() == before
    if how == "realtime":
        assert inside[0] == os.SCHED_RR
    elif how == "nice":
        assert inside[1] == max(-20, before[1] - 10)
    else:
        assert inside == before
    assert child == (os.SCHED_OTHER, max(before[1], 0))


def test_the_nice_fallback_raises_restores_and_leaves_children_unraised() -> None:
    before = _state()
    with raised_priority(-5, realtime=False) as how:
        inside = _state()
        child = _child()
    assert _state() == before
    assert how in ("nice", "none")
    assert inside[1] == (max(-20, before[1] - 5) if how == "nice" else before[1])
    assert child == (os.SCHED_OTHER, max(before[1], 0))


def test_a_background_part_runs_below_the_request_path() -> None:
    """ISO-01..04: the stack's background parts start in the idle class (or niced where ``chrt`` is
    missing), threads and all, from their first instruction; the launcher's argv stays the
    program's own (for messages and ``ps``); ``none`` changes nothing."""
    from testbed.priority import lowered
    from testbed.process import start_server

    assert lowered(["prog", "x"], "none") == ["prog", "x"]
    script = ("import json, os; print(json.dumps({'event': 'ready', 'policy': os.sched_getscheduler(0),"
              " 'nice': os.nice(0)}), flush=True); import signal; signal.pause()")
    proc = start_server([sys.executable, "-c", script], background="idle")
    try:
        assert proc.argv[0] == sys.executable
        assert proc.ready["policy"] == os.SCHED_IDLE or proc.ready["nice"] > os.nice(0)
    finally:
        proc.stop()
    with subprocess.Popen(lowered([sys.executable, "-c", "import os; print(os.nice(0))"], "nice"),
                          stdout=subprocess.PIPE, text=True) as child:
        assert int(child.communicate()[0]) == 19
