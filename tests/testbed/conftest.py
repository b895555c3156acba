"""Fixtures shared by the gateway and selftest suites: the fake providers in-process, with the
behaviour rules the gateway tests rely on."""

from __future__ import annotations

from collections.abc import AsyncIterator

import fake_providers
import pytest

from testbed.serving import start_site
from tests.testbed.gateway.support import BEHAVIOURS


@pytest.fixture
async def providers_url() -> AsyncIterator[str]:
    rules = fake_providers.parse_rules(BEHAVIOURS, "behaviours")
    app = fake_providers.create_app(fake_providers.FakeProviderSettings(behaviours=rules))
    runner, url = await start_site(app, "127.0.0.1", 0)
    yield url
    await runner.cleanup()
