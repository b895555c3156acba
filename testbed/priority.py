"""CPU priority for the load generator's sending thread (LAT-03).

On a machine with fewer cores than processes (the whole stack on a 2-core CI runner), the
sending thread's timer fires on time but the thread waits for a core behind the gateway, the
providers, the exporter, nats-server and the ingest: sends then leave milliseconds late, and
by different amounts in different groups. Raising the sending thread's scheduling priority for
the load phase lets it run as soon as its timer fires, so the schedule is kept; the parts under
test keep their normal priority, so what they do is measured as before.

Raising priority needs the privilege to lower a nice value (root, or CAP_SYS_NICE). Without it
nothing changes and the run says so (``elevated`` is False): LAT-03 then judges the lag as is.
Linux keeps a nice value per thread, so only the thread that runs the load loop is raised; a
process started from that thread while raised is put back to the base value (``child_priority``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Final

LOAD_NICE_DELTA: Final = -10
"""How far the sending thread's nice value is lowered: enough to win a core on wake-up against
the stack's parts (nice 0), short of the real-time class, so it can never starve them."""

_BASE_NICE: Final = os.getpriority(os.PRIO_PROCESS, 0) if hasattr(os, "getpriority") else 0


def child_priority() -> None:
    """``preexec_fn`` for processes started by the runner: the base nice value, whatever thread
    started them, so a part restarted during the load phase is not raised with the sender."""
    if hasattr(os, "setpriority"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, 0, _BASE_NICE)


@contextlib.contextmanager
def raised_priority(delta: int = LOAD_NICE_DELTA) -> Iterator[bool]:
    """Lower the calling thread's nice value by ``-delta`` for the block; yields whether it could."""
    if not hasattr(os, "setpriority"):
        yield False
        return
    before = os.getpriority(os.PRIO_PROCESS, 0)
    try:
        os.setpriority(os.PRIO_PROCESS, 0, max(-20, before + delta))
    except OSError:
        yield False
        return
    try:
        yield True
    finally:
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, 0, before)
