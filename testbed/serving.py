"""Serve an aiohttp application from a command line: bind, print the ready line, stop on a signal.

Every server of the project prints exactly one JSON line on stdout once it listens, e.g.
``{"event": "ready", "service": "fake-middleware", "url": "http://127.0.0.1:PORT"}``. Port 0
binds a free port; the line carries the real one. Anything that starts a server waits on that line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from collections.abc import Coroutine
from typing import Any

from aiohttp import web
import testbed.loop


def ready_line(service: str, url: str, **extra: Any) -> str:
    """The ready line a server prints once it listens (DESIGN.md contract)."""
    return json.dumps({"event": "ready", "service": service, "url": url, **extra})


def bound_port(runner: web.AppRunner) -> int:
    """The real port of the first site of a started runner (port 0 resolved)."""
    for site in runner.sites:
        server = getattr(site, "_server", None)
        if server is not None and server.sockets:
            return int(server.sockets[0].getsockname()[1])
    raise RuntimeError("runner has no bound socket")


async def start_site(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, str]:
    """Start ``app`` on ``host:port`` and return the runner and its base URL."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    real_port = bound_port(runner)
    shown_host = f"[{host}]" if ":" in host else host
    return runner, f"http://{shown_host}:{real_port}"


async def wait_for_stop_signal() -> None:
    """Return once SIGINT or SIGTERM arrives."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def serve_until_signal(
    app: web.Application, host: str, port: int, service: str, **extra: Any
) -> None:
    """Serve ``app``, print the ready line, and shut down cleanly on SIGINT/SIGTERM."""
    runner, url = await start_site(app, host, port)
    try:
        print(ready_line(service, url, **extra), flush=True)
        await wait_for_stop_signal()
    finally:
        await runner.cleanup()


def run_process(main: Coroutine[Any, Any, None]) -> int:
    """Blocking entry point of a server process: warnings and errors logged to stderr, ``main``
    run on the fastest loop until it returns (after a stop signal); the exit status is 0."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        testbed.loop.run(main)
    except KeyboardInterrupt:
        pass
    sys.stdout.flush()
    return 0


def run_server(app: web.Application, host: str, port: int, service: str, **extra: Any) -> int:
    """Blocking entry point for ``__main__`` modules; returns the process exit status."""
    return run_process(serve_until_signal(app, host, port, service, **extra))
