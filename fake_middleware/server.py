"""Run the ingest in-process: ``MiddlewareServer`` owns the runner and its listening sites.

``down`` (FLT-03) must really refuse connections and come back on the same port, so the server
closes and re-opens the main site itself. An optional admin site on another port serves the same
app and stays up while the main port is down, so faults can be cleared over HTTP.

    server = MiddlewareServer(Settings(keys={"default": "k"}))
    await server.start()          # binds; server.url has the real port
    await server.store.wait_for(SpanQuery(name="chat gpt-4o"), 3, timeout=10)
    await server.stop()           # idempotent
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from testbed.serving import ERROR_BODY, ProtocolRunner, bound_port

from fake_middleware import otlp

from fake_middleware.app import create_app
from fake_middleware.faults import FaultSet, FaultSpec
from fake_middleware.faults.base import BaseFault
from fake_middleware.faults.down import Down
from fake_middleware.keys import FAULTS, LISTENER, STORE
from fake_middleware.settings import Settings
from fake_middleware.store import SpanStore


def _status_error(status: int, message: str) -> tuple[bytes, str]:
    """A request the HTTP parser refuses gets a protobuf ``google.rpc.Status`` (OTLP's default, OTLP-07):
    its route and content type were never read."""
    return otlp.status_body(otlp.Encoding.PROTOBUF, status, message), otlp.Encoding.PROTOBUF.value


class MiddlewareServer:
    """The fake Middleware ingest on ``host:port`` (0 = a free port), started with ``start()``."""

    def __init__(self, settings: Settings | None = None, host: str = "127.0.0.1", port: int = 0,
                 admin_port: int | None = None) -> None:
        self.settings = settings or Settings()
        self.host = host
        self.port = port
        self.admin_port = admin_port
        self.app: web.Application | None = None
        self.url = ""
        self.admin_url: str | None = None
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._heal: asyncio.TimerHandle | None = None
        self._stopping = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._lock = asyncio.Lock()

    @property
    def store(self) -> SpanStore:
        assert self.app is not None, "start() first"
        return self.app[STORE]

    @property
    def faults(self) -> FaultSet:
        assert self.app is not None, "start() first"
        return self.app[FAULTS]

    async def start(self) -> MiddlewareServer:
        self.app = create_app(self.settings)
        self.app[FAULTS].listener_hook = self._listener_hook
        # aiohttp would inflate gzip bodies itself, with no limit we control: the ingest must see
        # the wire bytes to refuse a gzip bomb early (OTLP-12), so auto_decompress is off. With no
        # lingering, a body left unread (401, 413) is not drained: the connection is closed instead.
        self.app[ERROR_BODY] = _status_error
        self._runner = ProtocolRunner(self.app, access_log=None, handle_signals=False, auto_decompress=False,
                                      lingering_time=0)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await self._site.start()
        self.port = bound_port(self._runner)
        shown_host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{shown_host}:{self.port}"
        self.app[LISTENER].main_port = self.port
        self.app[LISTENER].settle = self.settled
        if self.admin_port is not None:
            admin = web.TCPSite(self._runner, self.host, self.admin_port, reuse_address=True)
            await admin.start()
            real = admin._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            self.admin_url = self.url.rsplit(":", 1)[0] + f":{real}"
        return self

    async def stop(self) -> None:
        """Stop serving and release hung requests; idempotent."""
        if self._runner is None or self._stopping:
            return
        self._stopping = True
        if self._heal is not None:
            self._heal.cancel()
        for task in list(self._tasks):
            await task
        await self._runner.cleanup()
        self._runner = None

    # -- faults ------------------------------------------------------------------------------

    def add_fault(self, kind: str, name: str | None = None, *, probability: float = 1.0, times: int | None = None,
                  match: dict[str, str] | None = None, **params: Any) -> BaseFault:
        """Activate a fault from Python; FaultSpecError names a bad field."""
        spec = FaultSpec(name or self.faults.next_name(kind), kind, probability, times, match or {}, params)
        return self.faults.add(spec)

    def clear_fault(self, name: str) -> bool:
        return self.faults.remove(name)

    def clear_faults(self) -> None:
        self.faults.reset()

    async def settled(self) -> None:
        """Wait until listener changes asked for by faults (down, up) are done."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks))

    def _listener_hook(self, fault: BaseFault, down: bool) -> None:
        if self._stopping:
            return
        task = asyncio.get_running_loop().create_task(self._go_down(fault) if down else self._go_up())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _go_down(self, fault: BaseFault) -> None:
        assert self.app is not None
        async with self._lock:
            self.app[LISTENER].down = True
            if self._site is not None:
                await self._site.stop()
                self._site = None
            assert isinstance(fault, Down)
            if fault.duration_ms:
                loop = asyncio.get_running_loop()
                self._heal = loop.call_later(fault.duration_ms / 1000, self.faults.remove, fault.spec.name)

    async def _go_up(self) -> None:
        assert self.app is not None
        async with self._lock:
            if self._heal is not None:
                self._heal.cancel()
                self._heal = None
            if any(f["kind"] == "down" for f in self.faults.list()):
                return  # another down fault still holds the port closed
            if self._site is None and self._runner is not None:
                site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
                await site.start()
                self._site = site
            self.app[LISTENER].down = False
