"""Fixtures for the gateway's end-to-end tests: the gateway in-process on the shipped config, with
a real nats-server and the fake providers in-process (shared fixtures; helpers live in ``support``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from testbed.bus import NatsServer
from testbed.gateway import GatewayServer
from tests.testbed.gateway.support import gateway_config


@pytest.fixture
async def gateway(providers_url: str, nats_server: NatsServer) -> AsyncIterator[GatewayServer]:
    server = GatewayServer(gateway_config(providers_url, nats_server.url))
    await server.start()
    yield server
    await server.stop()
