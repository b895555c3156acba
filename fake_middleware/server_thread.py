"""The ingest on its own event loop in a background thread, for synchronous callers.

Synchronous clients (the OTel SDK exporter, ``http.client``) would block an event loop they share
with the server, so tests and tools that use them run the server here. Every call is handed to the
server's loop with ``run_coroutine_threadsafe``; ``wait_for`` still wakes on arrival.

    with ThreadedMiddleware(Settings(keys={"default": "k"})) as mw:
        ...  # post to mw.url
        spans = mw.wait_for(SpanQuery(service="gw"), 3, timeout=10)
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fake_middleware.model import StoredSpan
from fake_middleware.query import SpanQuery
from fake_middleware.server import MiddlewareServer
from fake_middleware.settings import Settings
from fake_middleware.store import SpanStore

T = TypeVar("T")


class ThreadedMiddleware:
    """A MiddlewareServer running in a daemon thread; ``start``/``stop`` or use as a context manager."""

    def __init__(self, settings: Settings | None = None, host: str = "127.0.0.1", port: int = 0,
                 admin_port: int | None = None) -> None:
        self.server = MiddlewareServer(settings, host, port, admin_port)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self.server.url

    def start(self, timeout: float = 30.0) -> ThreadedMiddleware:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="fake-middleware", daemon=True)
        self._thread.start()
        self.run(self.server.start, timeout)
        return self

    def run(self, make: Callable[[], Awaitable[T]], timeout: float = 30.0) -> T:
        """Run ``make()`` on the server's loop and return its result."""
        assert self._loop is not None, "start() first"

        async def call() -> T:
            return await make()

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(timeout)

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call a synchronous function (a store or fault method) on the server's loop."""

        async def wrapped() -> T:
            return fn(*args, **kwargs)

        return self.run(wrapped)

    def wait_for(self, query: SpanQuery, count: int, timeout: float) -> list[StoredSpan]:
        return self.run(lambda: self.server.store.wait_for(query, count, timeout), timeout + 5)

    def wait_until(self, condition: Callable[[SpanStore], Any], timeout: float, what: str = "condition") -> Any:
        return self.run(lambda: self.server.store.wait_until(condition, timeout, what), timeout + 5)

    def stop(self) -> None:
        """Stop the server and the loop; idempotent."""
        if self._loop is None:
            return
        loop, self._loop = self._loop, None
        asyncio.run_coroutine_threadsafe(self.server.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        assert self._thread is not None
        self._thread.join(30)
        loop.close()

    def __enter__(self) -> ThreadedMiddleware:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
