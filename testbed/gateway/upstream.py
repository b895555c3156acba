"""The gateway's only outbound HTTP: one shared aiohttp ClientSession with a keep-alive pool.

Data flows gateway -> provider. Per-target timeouts: a non-streamed request must complete within
``timeout_s``; a streamed one must connect within it and never wait longer than it between two
reads. Timeouts surface as ``asyncio.TimeoutError``, connection failures as ``aiohttp.ClientError``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp

from testbed.gateway.config import UpstreamConfig
from testbed.gateway.providers import UpstreamRequest


class UpstreamClient:
    """Started with :meth:`start` (inside a running loop), closed with :meth:`close` (idempotent)."""

    def __init__(self, config: UpstreamConfig) -> None:
        self._config = config
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._config.max_connections, limit_per_host=0,
                                             keepalive_timeout=self._config.keepalive_s, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(connector=connector, skip_auto_headers=("User-Agent",))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @asynccontextmanager
    async def open(
        self, request: UpstreamRequest, headers: dict[str, str], timeout_s: float, stream: bool
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """POST ``request`` and yield the response once its headers arrived."""
        assert self._session is not None, "UpstreamClient.start() was not called"
        if stream:
            timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout_s, sock_read=timeout_s)
        else:
            timeout = aiohttp.ClientTimeout(total=timeout_s)
        async with self._session.post(request.url, data=request.body, headers=headers, timeout=timeout) as resp:
            yield resp
