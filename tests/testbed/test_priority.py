"""The load generator's sending thread is raised for the load phase and put back after, and a
process started meanwhile keeps the base priority (LAT-03); without the privilege nothing changes."""

from __future__ import annotations

import os
import subprocess
import sys

from testbed.priority import child_priority, raised_priority


def _nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, 0)


def test_the_thread_is_raised_inside_the_block_and_restored_after() -> None:
    before = _nice()
    with raised_priority(-5) as raised:
        inside = _nice()
        child = subprocess.run([sys.executable, "-c", "import os; print(os.getpriority(os.PRIO_PROCESS, 0))"],
                               capture_output=True, text=True, check=True, preexec_fn=child_priority)
    assert _nice() == before
    if raised:
        assert inside == max(-20, before - 5)
    else:
        assert inside == before
    assert int(child.stdout) == before
