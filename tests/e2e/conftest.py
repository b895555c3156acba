"""Fixtures for the end-to-end tests: the whole stack as real processes (nats-server, the fakes,
the gateway and the exporter), started once per module and reset between tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testbed.runner.stack import Stack, StackSettings
from tests.e2e.helpers import StackClient


@pytest.fixture(scope="module")
def stack_settings() -> StackSettings:
    return StackSettings()


@pytest.fixture(scope="module")
def running_stack(stack_settings: StackSettings) -> Iterator[Stack]:
    stack = Stack.start(stack_settings)
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def client(running_stack: Stack) -> Iterator[StackClient]:
    client = StackClient(running_stack)
    client.reset()
    yield client
    client.reset()
