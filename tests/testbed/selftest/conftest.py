"""Fixtures for the defect tests that need a running gateway: a real nats-server and the fake
providers in-process (the gateway itself is started per test with its defects)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from testbed.bus import NatsServer
from testbed.serving import start_site
from tests.testbed.gateway.support import BEHAVIOURS


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
