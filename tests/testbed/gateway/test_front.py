"""The OpenAI-compatible front without a provider behind it: auth (401 in OAI-08 shape), per-key
model allow-lists, request validation (400 with ``param``), unknown models (404), ``/v1/models``,
``/metrics`` (EXP-06 names), and Hypothesis proof that no input makes the gateway answer 5xx."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testbed.gateway import create_app, parse_config

KEY = "sk-gw-front"
LIMITED = "sk-gw-limited"


def config() -> Any:
    target = {"id": "t", "provider": "openai", "model": "up", "base_url": "http://127.0.0.1:9/v1", "api_key": "k",
              "timeout_s": 2}
    return parse_config({
        "api_keys": [{"key": KEY, "name": "main"}, {"key": LIMITED, "name": "lim", "allowed_models": ["small"]}],
        "models": {"big": {"targets": [target]}, "small": {"targets": [target]}},
        "bus": {"url": "nats://127.0.0.1:9"},
    }, environ={})


@pytest.fixture
async def client(aiohttp_client: Any) -> TestClient:
    return await aiohttp_client(create_app(config(), environ={}))


def auth(key: str = KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def error_of(resp: Any) -> dict[str, Any]:
    body = await resp.json()
    assert set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": KEY},
                                     {"Authorization": "Basic abc"}], ids=["none", "unknown", "no-scheme", "basic"])
async def test_a_bad_key_gets_401_in_the_openai_shape(client: TestClient, headers: dict[str, str]) -> None:
    resp = await client.post("/v1/chat/completions", json={"model": "big", "messages": []}, headers=headers)
    assert resp.status == 401
    assert (await error_of(resp))["code"] == "invalid_api_key"


async def test_a_key_limited_to_some_models_is_refused_the_others(client: TestClient) -> None:
    body = {"model": "big", "messages": [{"role": "user", "content": "x"}]}
    resp = await client.post("/v1/chat/completions", json=body, headers=auth(LIMITED))
    assert resp.status == 403 and (await error_of(resp))["param"] == "model"
    models = await (await client.get("/v1/models", headers=auth(LIMITED))).json()
    assert [m["id"] for m in models["data"]] == ["small"]


@pytest.mark.parametrize(("body", "status", "param"), [
    (b"{not json", 400, None),
    (b"[1, 2]", 400, None),
    (json.dumps({"messages": [{"role": "user", "content": "x"}]}).encode(), 400, "model"),
    (json.dumps({"model": "big", "messages": []}).encode(), 400, "messages"),
    (json.dumps({"model": "big", "messages": [{"role": "user", "content": "x"}], "n": 0}).encode(), 400, "n"),
    (json.dumps({"model": "nope", "messages": [{"role": "user", "content": "x"}]}).encode(), 404, "model"),
], ids=["bad-json", "not-object", "no-model", "empty-messages", "zero-n", "unknown-model"])
async def test_invalid_requests_are_refused_with_the_field_named(client: TestClient, body: bytes, status: int,
                                                                 param: str | None) -> None:
    resp = await client.post("/v1/chat/completions", data=body, headers={**auth(), "Content-Type": "application/json"})
    assert resp.status == status
    assert (await error_of(resp))["param"] == param


async def test_models_lists_the_configured_aliases(client: TestClient) -> None:
    resp = await client.get("/v1/models", headers=auth())
    body = await resp.json()
    assert body["object"] == "list" and {m["id"] for m in body["data"]} == {"big", "small"}
    assert (await client.get("/v1/models")).status == 401


async def test_an_unreachable_provider_is_a_502_after_every_target_was_tried(client: TestClient) -> None:
    resp = await client.post("/v1/chat/completions", json={"model": "big", "messages": [{"role": "user", "content": "x"}]},
                             headers=auth())
    assert resp.status == 502 and (await error_of(resp))["type"] == "server_error"


async def test_unknown_routes_and_methods_answer_in_the_openai_shape(client: TestClient) -> None:
    assert (await client.get("/v1/nothing")).status == 404
    resp = await client.get("/v1/chat/completions")
    assert resp.status == 405 and (await error_of(resp))["type"] == "invalid_request_error"


async def test_metrics_expose_the_normative_names(client: TestClient) -> None:
    await client.post("/v1/chat/completions", json={}, headers={"Authorization": "Bearer bad"})
    text = await (await client.get("/metrics")).text()
    for name in ("testbed_gateway_events_published_total", 'testbed_gateway_events_dropped_total{reason="queue_full"}',
                 'testbed_gateway_spans_dropped_total{reason="queue_full"}', "testbed_gateway_event_queue_depth",
                 "testbed_gateway_upstream_latency_seconds",
                 'testbed_gateway_requests_total{route="/v1/chat/completions",status="401"} 1.0'):
        assert name in text, name


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
                    max_leaves=10)
BODIES = st.one_of(
    st.binary(max_size=64),
    JSON.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"model": st.sampled_from(["big", "nope", 5, None]),
                           "messages": JSON, "stream": JSON, "n": JSON, "stream_options": JSON}).map(
        lambda v: json.dumps(v).encode()),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=BODIES, route=st.sampled_from(["/v1/chat/completions", "/v1/embeddings"]))
async def test_no_request_body_makes_the_gateway_fail_with_a_500(client: TestClient, body: bytes, route: str) -> None:
    resp = await client.post(route, data=body, headers={**auth(), "Content-Type": "application/json"})
    assert resp.status in (400, 403, 404, 502, 504), resp.status
