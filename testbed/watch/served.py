"""An aiohttp app served on its own event loop in a daemon thread, for synchronous callers
(``testbed watch``'s fake providers, the pytest plugin's ``fake_providers`` fixture)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any


class ThreadedApp:
    """``start`` binds (port 0 picks a free one) and sets ``url``; ``stop`` is idempotent."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host, self.port = host, port
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="testbed-fake", daemon=True)
        self._runner: Any = None

    def start(self, timeout: float = 30.0) -> None:
        from testbed.serving import start_site

        self._thread.start()
        fut = asyncio.run_coroutine_threadsafe(start_site(self.app, self.host, self.port), self._loop)
        self._runner, self.url = fut.result(timeout)

    def stop(self) -> None:
        if self._loop.is_closed():
            return
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(30)
            self._runner = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
        self._loop.close()
