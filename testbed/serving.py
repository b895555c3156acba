"""Serve an aiohttp application from a command line: bind, print the ready line, stop on a signal.

Every server of the project prints exactly one JSON line on stdout once it listens, e.g.
``{"event": "ready", "service": "fake-middleware", "url": "http://127.0.0.1:PORT"}``. Port 0
binds a free port; the line carries the real one. Anything that starts a server waits on that line.

:class:`ProtocolRunner` answers requests that aiohttp's HTTP parser refuses (a header over the
limit, a control character, a bad Content-Length) in the server's own error format, with a
fixed message: aiohttp's default 400 is plain text that echoes the offending line, and its log
record carries it too, an ``Authorization`` value included. Such a request never reaches a
route, so its path is unknown: a server whose format depends on the path gives its default one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any, Final

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

import testbed.loop

log = logging.getLogger(__name__)

ErrorBody = Callable[[int, str], tuple[bytes, str]]
"""(status, message) -> (body, content type) in a server's own error format."""

ERROR_BODY: Final = web.AppKey("error_body", ErrorBody)
"""Set by an app's factory; :class:`ProtocolRunner` answers refused requests with it."""


def plain_error(status: int, message: str) -> tuple[bytes, str]:
    """The fallback format: the message alone, as text."""
    return message.encode(), "text/plain"


def _parser_message(status: int) -> str:
    if status >= 500:
        return "The server failed to handle the request."
    return "The request is not valid HTTP (request line, headers or body framing)."


class _ProtocolHandler(RequestHandler):
    """aiohttp's connection handler whose error answers and logs never carry request bytes."""

    def log_exception(self, *args: Any, **kw: Any) -> None:
        # aiohttp logs with the traceback, whose messages may quote request bytes: the type only.
        exc = kw.get("exc_info")
        name = type(exc).__name__ if isinstance(exc, BaseException) else "unknown"
        log.warning("%s (%s)", args[0] if args else "connection error", name)

    def handle_error(self, request: BaseRequest, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        # Never the exception's text or traceback: for a parser error it holds the header line.
        log.warning("refused a request from %s with %d (%s)", request.remote, status,
                    type(exc).__name__ if exc is not None else "no exception")
        if request.writer.output_size > 0:
            raise ConnectionError("response already started; cannot send an error")
        error_body: ErrorBody = getattr(self._manager, "error_body", plain_error)
        body, content_type = error_body(status, _parser_message(status))
        response = web.Response(status=status, body=body, content_type=content_type)
        response.force_close()
        return response


class _ProtocolServer(web.Server):
    error_body: ErrorBody = staticmethod(plain_error)

    def __call__(self) -> RequestHandler:
        return _ProtocolHandler(self, loop=self._loop, **self._kwargs)


class ProtocolRunner(web.AppRunner):
    """An ``AppRunner`` whose refused requests get the app's ``ERROR_BODY`` format (module docstring)."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        # The app builds its own Server (startup, freezing); only its connection factory changes.
        server.__class__ = _ProtocolServer
        server.error_body = self.app.get(ERROR_BODY, plain_error)  # type: ignore[attr-defined]
        return server


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
    runner = ProtocolRunner(app, access_log=None, handle_signals=False)
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
