"""Fixtures for the gateway's end-to-end tests: a real nats-server, the fake providers in-process,
and the gateway in-process on the shipped config (helpers live in ``support``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from testbed.bus import NatsServer
from testbed.gateway import GatewayServer
from testbed.serving import start_site
from tests.testbed.gateway.support import BEHAVIOURS, gateway_config


@pytest.fixture(scope="module")
def nats_server() -> Iterator[NatsServer]:
    server = NatsServer()
    server.start()
    yield server
    server.close()


@pytest.fixture
async def providers_url() -> AsyncIterator[str]:
    fake_providers = pytest.importorskip("fake_providers")
    rules = fake_providers.parse_rules(BEHAVIOURS, "behaviours")
    app = fake_providers.create_app(fake_providers.FakeProviderSettings(behaviours=rules))
    runner, url = await start_site(app, "127.0.0.1", 0)
    yield url
    await runner.cleanup()


@pytest.fixture
async def gateway(providers_url: str, nats_server: NatsServer) -> AsyncIterator[GatewayServer]:
    server = GatewayServer(gateway_config(providers_url, nats_server.url))
    await server.start()
    yield server
    await server.stop()
