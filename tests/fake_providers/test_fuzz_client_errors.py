"""No client error makes the fake providers answer 5xx, hang, or leave the provider's error format.

Each wire format is fuzzed on its own routes: OpenAI chat, embeddings and responses (OAI-08),
Anthropic messages and count_tokens (ANT-07), Gemini generateContent (GEM-05), plus the
``/_fake`` admin routes. Categories: JSON nested 10,000 deep, corrupt gzip, lone and
UTF-8-encoded surrogates, invalid UTF-8, wrong types in every field, raw-socket requests the
HTTP parser refuses, and Hypothesis-made bodies. The server runs on loopback through the same
runner as ``python -m fake_providers``; any handler error it records fails the test too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fake_providers import FakeProviderSettings, create_app
from fake_providers.keys import HANDLER_ERRORS
from testbed.serving import start_site
from tests.client_errors import (
    BAD_QUERY_VALUES, Checker, LoopThread, body_cases, get_status, is_admin_error, is_anthropic_error,
    is_gemini_error, is_openai_error, odd_header, post, problem, raw_request_cases, short_body, sweep, sweep_raw,
)  # fmt: skip

KEY = "sk-fuzz-provider-0123"
OPENAI = {"Authorization": f"Bearer {KEY}"}
ANTHROPIC = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
GEMINI = {"x-goog-api-key": KEY}
ROUTES: dict[str, tuple[str, dict[str, Any], tuple[Any, ...], dict[str, str], Checker]] = {
    "openai-chat": ("/v1/chat/completions",
                    {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5,
                     "stop": ["x"], "tools": [{"type": "function", "function": {"name": "f"}}]},
                    ("messages", 0, "content"), OPENAI, is_openai_error),
    "openai-embeddings": ("/v1/embeddings", {"model": "text-embedding-3-small", "input": ["hi"], "dimensions": 4},
                          ("input", 0), OPENAI, is_openai_error),
    "openai-responses": ("/v1/responses", {"model": "gpt-4o-mini", "input": "hi", "max_output_tokens": 5},
                         ("input",), OPENAI, is_openai_error),
    "anthropic-messages": ("/v1/messages",
                           {"model": "claude-3-5-haiku-latest", "max_tokens": 5, "system": "s",
                            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]},
                           ("messages", 0, "content", 0, "text"), ANTHROPIC, is_anthropic_error),
    "anthropic-count": ("/v1/messages/count_tokens",
                        {"model": "claude-3-5-haiku-latest", "messages": [{"role": "user", "content": "hi"}]},
                        ("messages", 0, "content"), ANTHROPIC, is_anthropic_error),
    "gemini": ("/v1beta/models/gemini-2.0-flash:generateContent",
               {"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
                "generationConfig": {"maxOutputTokens": 5, "stopSequences": ["x"]}},
               ("contents", 0, "parts", 0, "text"), GEMINI, is_gemini_error),
}


class Running:
    def __init__(self, loop: LoopThread, runner: Any, url: str, app: Any) -> None:
        self.loop, self.runner, self.url, self.app = loop, runner, url, app

    def handler_errors(self) -> list[dict[str, str]]:
        return list(self.app[HANDLER_ERRORS])


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    loop = LoopThread()
    app = create_app(FakeProviderSettings(api_keys=frozenset({KEY})))
    runner, url = loop.run(lambda: start_site(app, "127.0.0.1", 0))
    yield Running(loop, runner, url, app)
    loop.run(runner.cleanup)
    loop.close()


@pytest.mark.parametrize("route", list(ROUTES))
def test_malformed_bodies_get_4xx_in_the_providers_own_format(running: Running, route: str) -> None:
    path, valid, text_path, headers, is_format = ROUTES[route]
    cases = body_cases(valid, text_path)
    found = running.loop.run(lambda: sweep(f"{running.url}{path}", cases, headers, is_format))
    assert found == []
    assert running.handler_errors() == []


@pytest.mark.parametrize("path", ["/_fake/behaviours"])
def test_malformed_admin_bodies_get_4xx_in_the_admin_format(running: Running, path: str) -> None:
    cases = body_cases({"model": "m", "status": 429, "probability": 1.0}, ("model",))
    found = running.loop.run(lambda: sweep(f"{running.url}{path}", cases, {}, is_admin_error))
    assert found == []
    running.loop.run(lambda: post(f"{running.url}/_fake/reset", b"", {}))


def test_requests_the_http_parser_refuses_get_400_in_the_openai_format(running: Running) -> None:
    found = running.loop.run(lambda: sweep_raw(running.url, raw_request_cases("/v1/chat/completions", KEY),
                                               is_openai_error))
    assert found == []


def test_a_body_shorter_than_its_content_length_never_gets_a_5xx(running: Running) -> None:
    header = f"Authorization: Bearer {KEY}"
    assert running.loop.run(lambda: short_body(running.url, "/v1/chat/completions", header, is_openai_error)) is None
    assert running.handler_errors() == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.binary(max_size=40))
def test_any_bytes_in_a_header_never_get_a_5xx(running: Running, value: bytes) -> None:
    header = f"Authorization: Bearer {KEY}"
    assert running.loop.run(lambda: odd_header(running.url, "/v1/chat/completions", header, value,
                                               is_openai_error)) is None
    assert running.handler_errors() == []


def test_bad_journal_query_parameters_get_4xx_never_a_5xx(running: Running) -> None:
    found = []
    for name in ("since", "limit", "model", "provider", "path"):
        for value in BAD_QUERY_VALUES:
            status, body = running.loop.run(lambda: get_status(f"{running.url}/_fake/journal", {name: value}))
            if (why := problem(status, body, is_admin_error)) is not None:
                found.append(f"{name}={value[:20]!r}: {why}")
    assert found == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(route=st.sampled_from(list(ROUTES)), data=st.data())
def test_hypothesis_made_bodies_never_get_a_5xx(running: Running, route: str, data: st.DataObject) -> None:
    path, valid, _, headers, is_format = ROUTES[route]
    body = {key: data.draw(st.one_of(st.just(value), json_values), label=key) for key, value in valid.items()}
    status, raw = running.loop.run(lambda: post(f"{running.url}{path}", json.dumps(body).encode(), headers))
    assert problem(status, raw, is_format) is None
    assert running.handler_errors() == []
