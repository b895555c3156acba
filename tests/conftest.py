"""Fixtures shared across the suite: a real nats-server with JetStream, one per test module; and
the ``docker`` marker's rule: such tests skip, with the reason, where no Docker engine answers."""

from __future__ import annotations

from collections.abc import Iterator

import functools

import pytest

from testbed.bus import NatsServer


@pytest.fixture(scope="module")
def nats_server() -> Iterator[NatsServer]:
    server = NatsServer()
    server.start()
    yield server
    server.close()


@pytest.fixture
def fresh_nats_server() -> Iterator[NatsServer]:
    """A nats-server of the test's own, for tests that stop, kill or restart it."""
    server = NatsServer()
    server.start()
    yield server
    server.close()


@functools.cache
def docker_unavailable() -> str | None:
    """Why Docker cannot be used here, or None when an engine answers a ping."""
    try:
        import docker
    except ImportError:
        return "the docker client library is not installed"
    try:
        docker.from_env(timeout=3).ping()
    except Exception as exc:  # no socket, no permission, no engine: all mean "skip"
        return f"no Docker engine answers ({type(exc).__name__})"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("docker") is not None and (reason := docker_unavailable()):
            item.add_marker(pytest.mark.skip(reason=reason))
