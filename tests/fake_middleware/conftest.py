"""Fixtures: an in-process ingest on the test's loop, and one on its own thread for sync clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from fake_middleware import MiddlewareServer, Settings, ThreadedMiddleware
from tests.fake_middleware.helpers import KEY


@pytest.fixture
async def mw() -> AsyncIterator[MiddlewareServer]:
    server = MiddlewareServer(Settings(keys={"default": KEY, "tenant-b": "other-key-987"}))
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def threaded_mw() -> Iterator[ThreadedMiddleware]:
    with ThreadedMiddleware(Settings(keys={"default": KEY})) as server:
        yield server
