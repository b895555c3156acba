"""Hypothesis throws random JSON bodies and headers at every route of the running fake.

Properties: never a 5xx unless an ``x-fake-status`` header asks for one, never a crash (the process
lives and records no handler error), and every error body is in the format of the provider whose
route was called.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testbed.process import ServerProcess
from tests.fake_providers.helpers import Reply, http

pytestmark = pytest.mark.e2e

ROUTES = [
    ("POST", "/v1/chat/completions"), ("POST", "/v1/embeddings"), ("POST", "/v1/responses"), ("GET", "/v1/models"),
    ("GET", "/v1/models/gpt-4o"), ("POST", "/v1/messages"), ("POST", "/v1/messages/count_tokens"),
    ("POST", "/v1beta/models/gemini-2.0-flash:generateContent"),
    ("POST", "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse"), ("GET", "/v1beta/models"),
    ("POST", "/v1/unknown"), ("PUT", "/v1/chat/completions"), ("POST", "/v1beta/other"), ("DELETE", "/v1/messages"),
]  # fmt: skip
VALID: dict[str, dict[str, Any]] = {
    "/v1/chat/completions": {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True,
                             "tools": [{"type": "function", "function": {"name": "f"}}], "n": 2, "max_tokens": 5},
    "/v1/embeddings": {"model": "m", "input": ["a", "b"], "dimensions": 4},
    "/v1/responses": {"model": "m", "input": [{"role": "user", "content": "hi"}], "stream": True, "max_output_tokens": 5},
    "/v1/messages": {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "text", "text": "x"}]}],
                     "system": [{"type": "text", "text": "s"}], "stream": True, "tools": [{"name": "t"}]},
    "/v1beta/models/gemini-2.0-flash:generateContent": {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}], "generationConfig": {"candidateCount": 2},
        "tools": [{"functionDeclarations": [{"name": "f"}]}], "systemInstruction": {"parts": [{"text": "s"}]}},
}  # fmt: skip
AUTH = {"Authorization": "Bearer k", "x-api-key": "k", "anthropic-version": "2023-06-01", "x-goog-api-key": "k"}
HEADER_NAMES = ["authorization", "x-api-key", "anthropic-version", "x-goog-api-key", "content-type", "traceparent",
                "x-fake-finish-reason", "x-fake-usage-chunk", "x-fake-error-type", "x-fake-latency-ms", "x-fake-nope",
                "x-fake-mid-stream-error-type", "x-fake-tokens-per-chunk", "x-fake-retry-after", "x-fake-times"]  # fmt: skip

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)  # fmt: skip
# Digit-free values: a random number could ask for a long latency or hang, which is a behaviour, not input.
header_values = st.text(st.characters(min_codepoint=32, max_codepoint=126, blacklist_characters="0123456789"), max_size=20)
headers = st.dictionaries(st.sampled_from(HEADER_NAMES), header_values, max_size=5)


OPENAI_ROUTES = {("POST", "/v1/chat/completions"), ("POST", "/v1/embeddings"), ("POST", "/v1/responses")}


def provider_of(method: str, path: str, sent: dict[str, str]) -> str:
    """Routed OpenAI endpoints answer as OpenAI; elsewhere ``anthropic-version`` selects Anthropic."""
    if path.startswith("/v1beta"):
        return "gemini"
    if (method, path) in OPENAI_ROUTES:
        return "openai"
    if path.startswith("/v1/messages") or any(k.lower() == "anthropic-version" for k in sent):
        return "anthropic"
    return "openai"


def assert_provider_error(reply: Reply, provider: str) -> None:
    body = reply.json()
    if provider == "anthropic":
        assert body["type"] == "error" and set(body["error"]) == {"type", "message"} and body["request_id"]
        assert reply.headers["request-id"] == body["request_id"]
    elif provider == "gemini":
        assert set(body["error"]) >= {"code", "message", "status"} and body["error"]["code"] == reply.status
    else:
        assert set(body["error"]) == {"message", "type", "param", "code"} and reply.headers["x-request-id"]
    assert "CNRY-ERR-" in json.dumps(body)


def check(proc: ServerProcess, method: str, path: str, body: Any, sent: dict[str, str]) -> Reply:
    reply = http(method, f"{proc.url}{path}", body, sent)
    assert reply.status < 500, (reply.status, reply.body[:300])
    if reply.status >= 400:
        assert_provider_error(reply, provider_of(method, path, sent))
    return reply


@pytest.fixture
def server(fake_process: ServerProcess) -> ServerProcess:
    assert http("POST", f"{fake_process.url}/_fake/reset").status == 200
    yield fake_process  # type: ignore[misc]
    assert fake_process.alive()
    assert http("GET", f"{fake_process.url}/_fake/errors").json()["errors"] == []


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(route=st.sampled_from(ROUTES), body=json_values | st.binary(max_size=40), sent=headers)
def test_random_bodies_and_headers_never_get_a_5xx(server: ServerProcess, route: tuple[str, str], body: Any, sent: dict[str, str]) -> None:
    method, path = route
    check(server, method, path, body if method != "GET" else None, sent)


@FAST
@given(path=st.sampled_from(sorted(VALID)), key=st.text(max_size=15), value=json_values, drop=st.booleans(), sent=headers)
def test_one_mutated_field_of_a_valid_body_never_gets_a_5xx(
    server: ServerProcess, path: str, key: str, value: Any, drop: bool, sent: dict[str, str]
) -> None:
    body = dict(VALID[path])
    name = key if key and not drop else sorted(body)[len(key) % len(body)]
    if drop:
        body.pop(name, None)
    else:
        body[name] = value
    check(server, "POST", path, body, {**AUTH, **sent})


@FAST
@given(path=st.sampled_from(sorted(VALID)), field=st.sampled_from(["messages", "contents", "input", "tools", "system"]),
       inner=json_values)  # fmt: skip
def test_random_nested_content_never_gets_a_5xx(server: ServerProcess, path: str, field: str, inner: Any) -> None:
    body = {**VALID[path], field: [inner, {"role": "user", "content": inner, "parts": [inner]}]}
    check(server, "POST", path, body, AUTH)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(sorted(VALID)), status=st.sampled_from(["400", "404", "429", "500", "503", "529", "x"]))
def test_a_5xx_comes_only_when_a_behaviour_asks_for_one(server: ServerProcess, path: str, status: str) -> None:
    reply = http("POST", f"{server.url}{path}", VALID[path], {**AUTH, "x-fake-status": status, "x-fake-retry-after-ms": "1"})
    expected = 400 if status == "x" else int(status)
    assert reply.status == expected
    assert_provider_error(reply, provider_of("POST", path, AUTH))
