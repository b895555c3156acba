"""No client error makes the gateway answer 5xx, hang, or leave the OpenAI error format (OAI-08).

The reference gateway runs on loopback over the shipped config, with the fake providers behind
it and a real nats-server. Covered: JSON nested 10,000 deep, corrupt gzip, lone and UTF-8-encoded
surrogates, invalid UTF-8, wrong types in every field for OpenAI, Anthropic and Gemini targets
and for embeddings, requests only a raw socket can send (parser-level 400s), and Hypothesis-made
bodies. A 4xx for a client error keeps the SERVER span's status UNSET (GW-01): no 500 is counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testbed.bus import NatsServer
from testbed.gateway import GatewayServer
from testbed.serving import start_site
from tests.client_errors import (
    LoopThread, body_cases, is_openai_error, odd_header, post, problem, raw_request_cases, short_body, sweep,
    sweep_raw,
)  # fmt: skip
from tests.testbed.gateway.support import BEHAVIOURS, GATEWAY_KEY, gateway_config

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}], "stream": False,
        "max_tokens": 5, "temperature": 0.5, "stop": ["x"],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]}
EMBED = {"model": "text-embedding-3-small", "input": ["hello"], "dimensions": 8}
AUTH = {"Authorization": f"Bearer {GATEWAY_KEY}"}


class Running:
    def __init__(self, loop: LoopThread, gateway: GatewayServer, providers: Any) -> None:
        self.loop, self.gateway, self.providers = loop, gateway, providers

    @property
    def url(self) -> str:
        return self.gateway.url

    def errors_500(self) -> float:
        text = self.gateway.state.metrics.render().decode()
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("gateway_requests_total") and 'status="5' in line)


@pytest.fixture(scope="module")
def running(nats_server: NatsServer) -> Iterator[Running]:
    fake_providers = pytest.importorskip("fake_providers")
    loop = LoopThread()
    app = fake_providers.create_app(
        fake_providers.FakeProviderSettings(behaviours=fake_providers.parse_rules(BEHAVIOURS, "behaviours")))
    providers, providers_url = loop.run(lambda: start_site(app, "127.0.0.1", 0))
    gateway = GatewayServer(gateway_config(providers_url, nats_server.url))
    loop.run(gateway.start)
    yield Running(loop, gateway, providers)
    loop.run(gateway.stop)
    loop.run(providers.cleanup)
    loop.close()


@pytest.mark.parametrize("model", ["gpt-4o-mini", "claude-sonnet-4", "gemini-2.0-flash"])
def test_malformed_chat_bodies_get_4xx_in_the_openai_format_for_every_target_format(
        running: Running, model: str) -> None:
    cases = body_cases({**CHAT, "model": model}, ("messages", 0, "content"))
    found = running.loop.run(lambda: sweep(f"{running.url}/v1/chat/completions", cases, AUTH, is_openai_error))
    assert found == []
    assert running.errors_500() == 0


def test_malformed_embeddings_bodies_get_4xx_in_the_openai_format(running: Running) -> None:
    cases = body_cases(EMBED, ("input", 0))
    found = running.loop.run(lambda: sweep(f"{running.url}/v1/embeddings", cases, AUTH, is_openai_error))
    assert found == []


def test_requests_the_http_parser_refuses_get_400_in_the_openai_format_without_echoing_them(
        running: Running) -> None:
    cases = raw_request_cases("/v1/chat/completions", GATEWAY_KEY)
    found = running.loop.run(lambda: sweep_raw(running.url, cases, is_openai_error))
    assert found == []


def test_a_body_shorter_than_its_content_length_never_gets_a_5xx(running: Running) -> None:
    header = f"Authorization: Bearer {GATEWAY_KEY}"
    assert running.loop.run(lambda: short_body(running.url, "/v1/chat/completions", header, is_openai_error)) is None
    assert running.errors_500() == 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.binary(max_size=40))
def test_any_bytes_in_a_header_never_get_a_5xx(running: Running, value: bytes) -> None:
    header = f"Authorization: Bearer {GATEWAY_KEY}"
    assert running.loop.run(lambda: odd_header(running.url, "/v1/chat/completions", header, value,
                                               is_openai_error)) is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
messages = st.lists(st.dictionaries(st.sampled_from(["role", "content", "name", "tool_calls", "tool_call_id"]),
                                    json_values, max_size=5), max_size=3)
bodies = st.fixed_dictionaries(
    {"model": st.sampled_from(["gpt-4o-mini", "claude-sonnet-4", "gemini-2.0-flash"]), "messages": messages},
    optional={"stream": json_values, "tools": json_values, "stop": json_values, "max_tokens": json_values,
              "n": json_values, "tool_choice": json_values, "stream_options": json_values},
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(body=bodies)
def test_hypothesis_made_chat_bodies_never_get_a_5xx(running: Running, body: dict[str, Any]) -> None:
    import json

    status, raw = running.loop.run(lambda: post(f"{running.url}/v1/chat/completions",
                                                json.dumps(body).encode(), AUTH))
    assert problem(status, raw, is_openai_error) is None
