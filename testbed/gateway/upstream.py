"""The gateway's only outbound HTTP: kept-alive connection pools to each provider.

Data flows gateway -> provider. A non-streamed request goes through the small HTTP/1.1 client of
:mod:`testbed.load.http1` (``httptools``): it costs about a third of the CPU of an aiohttp client
request (docs/scaling.md), and the answer is read whole anyway. A streamed request goes through
one shared aiohttp ClientSession, whose reader the SSE relay consumes as it arrives.

Per-target timeouts: a non-streamed request must complete within ``timeout_s``; a streamed one
must connect within it and never wait longer than it between two reads. Timeouts surface as
``asyncio.TimeoutError``; connection failures as ``aiohttp.ClientError`` or ``OSError``; a reply
that is not HTTP as ``httptools.HttpParserError`` (:data:`CONNECTION_ERRORS` lists them).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

import aiohttp
import httptools
from yarl import URL

from testbed.gateway.config import UpstreamConfig
from testbed.gateway.providers import UpstreamRequest
from testbed.load.http1 import Pool

CONNECTION_ERRORS = (aiohttp.ClientError, OSError, httptools.HttpParserError)
"""What a failed connection raises, from either client: the attempt falls back (GW fallback rules)."""


class UpstreamResponse(Protocol):
    """What an attempt reads of a provider's answer; a streamed one is an ``aiohttp.ClientResponse``."""

    @property
    def status(self) -> int: ...

    async def read(self) -> bytes: ...


@dataclass(frozen=True, slots=True)
class WholeResponse:
    """A non-streamed answer, read in full before the attempt sees it."""

    status: int
    body: bytes

    async def read(self) -> bytes:
        return self.body


class UpstreamClient:
    """Started with :meth:`start` (inside a running loop), closed with :meth:`close` (idempotent)."""

    def __init__(self, config: UpstreamConfig) -> None:
        self._config = config
        self._session: aiohttp.ClientSession | None = None
        self._pools: dict[tuple[str, str, int], Pool] = {}
        self._slots: asyncio.Semaphore | None = None
        self._tls: ssl.SSLContext | None = None

    async def start(self) -> None:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._config.max_connections, limit_per_host=0,
                                             keepalive_timeout=self._config.keepalive_s, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(connector=connector, skip_auto_headers=("User-Agent",))
            self._slots = asyncio.Semaphore(self._config.max_connections)

    async def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    @asynccontextmanager
    async def open(
        self, request: UpstreamRequest, headers: dict[str, str], timeout_s: float, stream: bool
    ) -> AsyncIterator[UpstreamResponse]:
        """POST ``request`` and yield the response: a streamed one once its headers arrived, any
        other once it is complete."""
        assert self._session is not None, "UpstreamClient.start() was not called"
        if not stream:
            yield await self._whole(request, headers, timeout_s)
            return
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout_s, sock_read=timeout_s)
        async with self._session.post(request.url, data=request.body, headers=headers, timeout=timeout) as resp:
            yield resp

    async def _whole(self, request: UpstreamRequest, headers: dict[str, str], timeout_s: float) -> WholeResponse:
        url = URL(request.url)
        pool = self._pool(url)
        assert self._slots is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        async with self._slots:
            # A kept-alive connection the provider closed while idle fails before any answer:
            # that one request is sent again on a fresh connection, as browsers and curl do.
            for retry in (True, False):
                exchange = await asyncio.wait_for(
                    pool.prepare("POST", url.raw_path_qs, headers, request.body, stream=False),
                    deadline - loop.time())
                exchange.fire()
                try:
                    response = await exchange.wait(deadline - loop.time())
                except ConnectionResetError:
                    if retry and exchange.reused and not exchange.response.status:
                        continue
                    raise
                return WholeResponse(response.status, bytes(response.body))
        raise AssertionError("unreachable")

    def _pool(self, url: URL) -> Pool:
        assert url.host is not None and url.port is not None, f"not an absolute URL: {url}"
        key = (url.scheme, url.host, url.port)
        pool = self._pools.get(key)
        if pool is None:
            tls = None
            if url.scheme == "https":
                tls = self._tls = self._tls or ssl.create_default_context()
            pool = self._pools[key] = Pool(url.host, url.port, tls=tls, idle_s=self._config.keepalive_s)
        return pool
