"""``testbed up``: start the whole stack, print one ready line, run until Ctrl-C or SIGTERM."""

from __future__ import annotations

import json
import signal
import threading

from testbed.runner.stack import Stack, StackSettings


def run_up(settings: StackSettings) -> int:
    """Blocking: start every part, print the stack's ready line, stop everything on a signal."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    stack = Stack.start(settings)
    try:
        print(json.dumps(stack.ready_line()), flush=True)
        stop.wait()
    finally:
        stack.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
