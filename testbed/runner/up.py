"""``testbed up``: start the whole stack, print one ready line, run until Ctrl-C or SIGTERM.

The stack runs supervised: an exporter or gateway that dies on its own is restarted with backoff
(``supervisor.py``), each decision printed as one JSON line on stdout after the ready line. The
supervisor's counters (restarts, current child pids) are served on a ``/metrics`` page of their
own, whose URL the ready line gives as ``metrics.supervisor``; ``pids`` gives the children's ids.
"""

from __future__ import annotations

import json
import signal
import threading
from typing import Any

from prometheus_client import start_http_server

from testbed.runner.stack import HOST, Stack, StackSettings


def _print_event(event: dict[str, Any]) -> None:
    print(json.dumps(event), flush=True)


def run_up(settings: StackSettings) -> int:
    """Blocking: start every part, print the stack's ready line, stop everything on a signal."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    stack = Stack.start(settings, log=_print_event)
    server = None
    try:
        ready = stack.ready_line()
        if stack.supervisor is not None:
            server, _thread = start_http_server(0, addr=HOST, registry=stack.supervisor.registry)
            ready["metrics"]["supervisor"] = f"http://{HOST}:{server.server_port}/metrics"
        print(json.dumps(ready), flush=True)
        stop.wait()
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        stack.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
