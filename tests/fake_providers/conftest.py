"""Fixtures for the fake-providers tests.

- ``fake``: one ``python -m fake_providers`` process for the whole session (the sync SDK clients
  need a server on another loop), reset with ``POST /_fake/reset`` before each test; after each
  test it fails if the server recorded an unexpected handler error.
- ``client``: the app in-process behind aiohttp's test server, for raw-HTTP tests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from fake_providers import FakeProviderSettings, create_app
from testbed.process import ServerProcess, python_module_argv, start_server
from tests.fake_providers.helpers import FakeServer, http


@pytest.fixture(scope="session")
def fake_process() -> Iterator[ServerProcess]:
    proc = start_server(python_module_argv("fake_providers", "--port", "0"))
    yield proc
    proc.stop()


@pytest.fixture
def fake(fake_process: ServerProcess) -> Iterator[FakeServer]:
    server = FakeServer(fake_process.url, fake_process)
    assert http("POST", f"{server.url}/_fake/reset").status == 200
    yield server
    assert fake_process.alive(), fake_process.stderr_text()[-2000:]
    assert server.errors() == []


ClientFactory = Callable[..., Awaitable[TestClient]]


@pytest.fixture
def make_client(aiohttp_client: Any) -> ClientFactory:
    async def make(settings: FakeProviderSettings | None = None) -> TestClient:
        return await aiohttp_client(create_app(settings))

    return make


@pytest.fixture
async def client(make_client: ClientFactory) -> TestClient:
    return await make_client()
