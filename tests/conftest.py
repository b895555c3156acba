"""Fixtures shared across the suite: a real nats-server with JetStream, one per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testbed.bus import NatsServer


@pytest.fixture(scope="module")
def nats_server() -> Iterator[NatsServer]:
    server = NatsServer()
    server.start()
    yield server
    server.close()
