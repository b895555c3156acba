"""``GatewayServer``: the gateway in-process, for tests and the stack (start/stop, port 0)."""

from __future__ import annotations

import random
from typing import Any

from aiohttp import web

from testbed.gateway.app import create_app
from testbed.gateway.config import GatewayConfig
from testbed.gateway.state import STATE, GatewayState
from testbed.serving import start_site


class GatewayServer:
    """The constructor only stores settings; :meth:`start` binds. ``stop()`` is idempotent."""

    def __init__(self, config: GatewayConfig, *, rng: random.Random | None = None, **app_kwargs: Any) -> None:
        self._config = config
        self._rng = rng
        self._app_kwargs = app_kwargs
        self._runner: web.AppRunner | None = None
        self.app: web.Application | None = None
        self.url = ""

    @property
    def state(self) -> GatewayState:
        assert self.app is not None, "GatewayServer.start() was not called"
        return self.app[STATE]

    @property
    def metrics_url(self) -> str:
        return f"{self.url}/metrics"

    async def start(self) -> str:
        if self._runner is None:
            self.app = create_app(self._config, rng=self._rng, **self._app_kwargs)
            self._runner, self.url = await start_site(self.app, self._config.host, self._config.port)
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> GatewayServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
