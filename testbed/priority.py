"""CPU priority: the load generator's sending thread raised (LAT-03), the stack's background parts lowered.

On a machine with fewer cores than processes (the whole stack on a 2-core CI runner), the
sending thread's timer fires on time but the thread then waits for a core behind the gateway, the
providers, the exporter, nats-server and the ingest: about one send in fifty left 1 to 4 ms late,
by amounts that differed from one group of requests to the next. For the load phase the thread
that runs the schedule therefore joins the real-time class (``SCHED_RR`` at its lowest priority),
so the scheduler runs it as soon as its alarm fires; where that is not allowed it is raised by 10
nice levels, and where neither is, nothing changes and the run says so (LAT-03 then judges the
lag as it is). The parts under test stay in the normal class: the thread is flagged
``SCHED_RESET_ON_FORK`` in both cases, so every thread and process started from it meanwhile
begins in the normal class with a nice value of at least 0. Processes are still spawned the cheap
way (no ``preexec_fn``, which would force a full fork of the runner while it keeps the schedule).

Only the calling thread is raised (Linux keeps policies and nice values per thread). The kernel's
real-time throttling (95% of each second by default) bounds what a runaway sender could take.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator, Sequence
from typing import Final, Literal

Raised = Literal["realtime", "nice", "none"]
Background = Literal["idle", "nice", "none"]
BACKGROUND: Final[Background] = "idle"
"""How the stack's background parts (exporters, the ingest, nats-server) run, see :func:`lowered`."""
BACKGROUND_NICE: Final = 19
"""The ``nice`` fallback where ``chrt`` is missing, and the ``nice`` choice."""
LOAD_NICE_DELTA: Final = -10
"""The fallback: enough to win a core on wake-up more often than not against nice-0 parts."""

_RESET_ON_FORK: Final = getattr(os, "SCHED_RESET_ON_FORK", 0)


def _realtime() -> bool:
    if not hasattr(os, "sched_setscheduler"):
        return False
    try:
        policy = os.SCHED_RR | _RESET_ON_FORK
        os.sched_setscheduler(0, policy, os.sched_param(os.sched_get_priority_min(os.SCHED_RR)))
    except (OSError, AttributeError):
        return False
    return True


def _normal(reset_on_fork: bool = False) -> None:
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setscheduler(0, os.SCHED_OTHER | (_RESET_ON_FORK if reset_on_fork else 0), os.sched_param(0))


def lowered(argv: Sequence[str], how: Background) -> list[str]:
    """``argv`` run below the request path (ISO-01..04): ``idle``, ``nice`` or ``none`` (unchanged).

    In a deployment the exporter, the bus and the observability backend run on other machines than
    the gateway; on one 2-core machine they share its cores, and their bursts of work (a batch
    encoded, a backlog sent after an outage) take a core from the request path for milliseconds
    at a time. ``idle`` starts them in Linux's ``SCHED_IDLE`` class (``chrt --idle 0``): they get
    every idle cycle, and a waking request-path process takes the core from them at once. ``nice``
    (also the fallback without ``chrt``) lowers them by 19 nice levels, which gives way less
    promptly. Either applies to the whole process from its first instruction, threads included (a
    Go runtime's too), and the launcher keeps its usual spawn path. A part in the idle class gets
    almost nothing while the request path keeps both cores busy: benchmarks of the background
    parts' own throughput use ``none``.
    """
    chrt = shutil.which("chrt") if how == "idle" else None
    if chrt:
        return [chrt, "--idle", "0", *argv]
    program = shutil.which("nice") if how != "none" else None
    return [program, "-n", str(BACKGROUND_NICE), *argv] if program else list(argv)


@contextlib.contextmanager
def raised_priority(delta: int = LOAD_NICE_DELTA, *, realtime: bool = True) -> Iterator[Raised]:
    """Raise the calling thread for the block; yields how: ``realtime``, ``nice`` or ``none``."""
    if realtime and _realtime():
        try:
            yield "realtime"
        finally:
            _normal()
        return
    if not hasattr(os, "setpriority"):
        yield "none"
        return
    before = os.getpriority(os.PRIO_PROCESS, 0)
    try:
        os.setpriority(os.PRIO_PROCESS, 0, max(-20, before + delta))
    except OSError:
        yield "none"
        return
    _normal(reset_on_fork=True)  # children and threads start at nice 0, not raised with the sender
    try:
        yield "nice"
    finally:
        _normal()
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, 0, before)
