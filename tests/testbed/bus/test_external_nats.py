"""An external NATS with JetStream (here a container, where Docker answers) serves the whole stack
in place of the embedded nats-server: the gateway publishes to it and spans reach the ingest."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testbed.runner.stack import Stack, StackSettings

pytestmark = [pytest.mark.docker, pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def external_nats_url() -> Iterator[str]:
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs

    container = DockerContainer("nats:2").with_command("-js").with_exposed_ports(4222)
    container.start()
    try:
        wait_for_logs(container, "Server is ready", timeout=60)
        yield f"nats://{container.get_container_host_ip()}:{container.get_exposed_port(4222)}"
    finally:
        container.stop()


def test_the_stack_runs_on_an_external_nats(external_nats_url: str) -> None:
    import openai
    import requests

    stack = Stack.start(StackSettings(nats_url=external_nats_url))
    try:
        assert stack.nats is None and stack.nats_url == external_nats_url
        assert stack.gateway is not None
        client = openai.OpenAI(base_url=f"{stack.gateway.url}/v1", api_key=stack.settings.gateway_api_key, max_retries=0)
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        spans = requests.get(f"{stack.middleware_admin_url}/api/v1/spans",
                             params={"wait_count": 2, "wait_timeout_s": 30}, timeout=40).json()
        assert spans["count"] == 2
    finally:
        stack.stop()
