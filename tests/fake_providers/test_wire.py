"""Raw wire format of the fake: SSE framing against the recorded streams, headers on every response,
request validation (400 in the provider's format, never 500), auth, unrouted requests, the journal
and the admin API. Runs the app in-process with raw HTTP, no SDK."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from fake_providers import FakeProviderSettings, parse_rules
from tests.fake_providers.conftest import ClientFactory
from tests.fake_providers.helpers import ANTHROPIC_AUTH, GEMINI_AUTH, OPENAI_AUTH, sse_events

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "streams"
"""Recordings of real provider streams (tests/data/streams/README.md says where they come from)."""
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
MESSAGE = {"model": "claude-sonnet-4-20250514", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]}
GEMINI_BODY = {"contents": [{"parts": [{"text": "hi"}]}]}


async def call(client: TestClient, path: str, body: Any, headers: dict[str, str], method: str = "POST") -> tuple[int, Any, bytes]:
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    resp = await client.request(method, path, data=data, headers=headers)
    return resp.status, resp.headers, await resp.read()


def reference(name: str) -> list[tuple[str | None, str]]:
    """A recorded stream's events; a missing recording is a failure, never a skip."""
    return sse_events((REFERENCE / name).read_bytes())


async def test_openai_stream_framing_matches_the_recorded_stream(client: TestClient) -> None:
    body = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
    status, headers, raw = await call(client, "/v1/chat/completions", body, OPENAI_AUTH)
    assert status == 200 and headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert raw.endswith(b"data: [DONE]\n\n") and b"event:" not in raw
    events = sse_events(raw)
    chunks = [json.loads(data) for _, data in events[:-1]]
    recorded = [json.loads(data) for _, data in reference("openai-chat-stream-include-usage.sse")[:-1]]
    assert all(set(r) - {"usage"} <= set(c) for r, c in zip(recorded, chunks))
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    assert all(c["usage"] is None for c in chunks[:-1]) and chunks[-1]["choices"] == []
    assert chunks[-2]["choices"][0] == {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}
    assert len({(c["id"], c["created"], c["model"]) for c in chunks}) == 1


async def test_openai_chunks_carry_no_usage_key_without_include_usage(client: TestClient) -> None:
    _, _, raw = await call(client, "/v1/chat/completions", {**CHAT, "stream": True}, OPENAI_AUTH)
    chunks = [json.loads(data) for _, data in sse_events(raw)[:-1]]
    assert all("usage" not in c and c["choices"] for c in chunks)


async def test_anthropic_stream_framing_matches_the_recorded_stream(client: TestClient) -> None:
    _, _, raw = await call(client, "/v1/messages", {**MESSAGE, "stream": True}, ANTHROPIC_AUTH)
    events = sse_events(raw)
    recorded = reference("anthropic-messages-stream-basic.sse")

    def squash(names: list[str | None]) -> list[str | None]:
        return [n for i, n in enumerate(names) if i == 0 or n != names[i - 1]]

    assert squash([n for n, _ in events]) == squash([n for n, _ in recorded])
    assert all(json.loads(data)["type"] == name for name, data in events)
    assert b'event: ping\ndata: {"type": "ping"}\n\n' in raw
    start = json.loads(events[0][1])["message"]
    assert set(json.loads(recorded[0][1])["message"]) <= set(start)


async def test_anthropic_tool_stream_matches_the_recorded_tool_use_shape(client: TestClient) -> None:
    tools = [{"name": "get_weather", "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}}}]
    _, _, raw = await call(client, "/v1/messages", {**MESSAGE, "stream": True, "tools": tools}, ANTHROPIC_AUTH)
    events = [(n, json.loads(d)) for n, d in sse_events(raw)]
    recorded = [(n, json.loads(d)) for n, d in reference("anthropic-messages-stream-tool-use.sse")]
    block = next(d for n, d in events if n == "content_block_start" and d["index"] == 1)
    rec_block = next(d for n, d in recorded if n == "content_block_start" and d["index"] == 1)
    assert set(block["content_block"]) >= set(rec_block["content_block"]) - {"caller"}
    json_deltas = [d["delta"]["partial_json"] for n, d in events if n == "content_block_delta" and d["index"] == 1]
    assert json_deltas[0] == "" and json.loads("".join(json_deltas))["location"].startswith("CNRY-OTC-")
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


@pytest.mark.parametrize(
    ("path", "body", "headers", "id_header"),
    [("/v1/chat/completions", CHAT, OPENAI_AUTH, "x-request-id"), ("/v1/chat/completions", "{", OPENAI_AUTH, "x-request-id"),
     ("/v1/unknown", CHAT, OPENAI_AUTH, "x-request-id"), ("/v1/messages", MESSAGE, ANTHROPIC_AUTH, "request-id"),
     ("/v1/messages", MESSAGE, {}, "request-id"), ("/v1/messages/nope", MESSAGE, ANTHROPIC_AUTH, "request-id")],
    ids=["openai-ok", "openai-400", "openai-404", "anthropic-ok", "anthropic-401", "anthropic-404"],
)  # fmt: skip
async def test_every_response_carries_a_unique_request_id(
    client: TestClient, path: str, body: Any, headers: dict[str, str], id_header: str
) -> None:
    ids = {(await call(client, path, body, headers))[1][id_header] for _ in range(2)}
    assert len(ids) == 2 and all(i.startswith("req_") for i in ids)


def openai_error(raw: bytes) -> dict[str, Any]:
    body = json.loads(raw)
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


def anthropic_error(raw: bytes) -> dict[str, Any]:
    body = json.loads(raw)
    assert body["type"] == "error" and set(body["error"]) == {"type", "message"} and body["request_id"]
    return body["error"]


@pytest.mark.parametrize(
    ("body", "param"),
    [("{not json", None), ("[]", None), ({"messages": CHAT["messages"]}, "model"), ({"model": "m"}, "messages"),
     ({**CHAT, "messages": []}, "messages"), ({**CHAT, "messages": "hi"}, "messages"),
     ({**CHAT, "messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"), ({**CHAT, "n": "2"}, "n"),
     ({**CHAT, "stream": "yes"}, "stream"), ({**CHAT, "max_tokens": 0}, "max_tokens"), ({**CHAT, "temperature": 9}, "temperature"),
     ({**CHAT, "tools": [{"type": "function", "function": {}}]}, "tools[0].function.name"), ({**CHAT, "stop": [1]}, "stop")],
    ids=["malformed", "not-object", "no-model", "no-messages", "empty-messages", "messages-string", "bad-role",
         "n-string", "stream-string", "max-tokens-zero", "temperature-range", "tool-without-name", "stop-ints"],
)  # fmt: skip
async def test_bad_openai_requests_get_a_400_naming_the_param(client: TestClient, body: Any, param: str | None) -> None:
    status, _, raw = await call(client, "/v1/chat/completions", body, OPENAI_AUTH)
    error = openai_error(raw)
    assert status == 400 and error["type"] == "invalid_request_error" and error["param"] == param


@pytest.mark.parametrize(
    ("body", "fragment"),
    [({k: v for k, v in MESSAGE.items() if k != "max_tokens"}, "max_tokens"), ({**MESSAGE, "model": 5}, "model"),
     ({**MESSAGE, "messages": [{"role": "system", "content": "x"}]}, "role"), ({**MESSAGE, "system": 3}, "system"),
     ({**MESSAGE, "tool_choice": {"type": "maybe"}}, "tool_choice")],
    ids=["no-max-tokens", "model-int", "bad-role", "system-int", "bad-tool-choice"],
)  # fmt: skip
async def test_bad_anthropic_requests_get_an_invalid_request_error(client: TestClient, body: Any, fragment: str) -> None:
    status, _, raw = await call(client, "/v1/messages", body, ANTHROPIC_AUTH)
    error = anthropic_error(raw)
    assert status == 400 and error["type"] == "invalid_request_error" and fragment in error["message"]


async def test_embeddings_validate_input_and_encoding(client: TestClient) -> None:
    for body in ({"model": "e"}, {"model": "e", "input": []}, {"model": "e", "input": [1, "a"]},
                 {"model": "e", "input": "a", "encoding_format": "hex"}, {"model": "e", "input": "a", "dimensions": 0}):  # fmt: skip
        status, _, raw = await call(client, "/v1/embeddings", body, OPENAI_AUTH)
        assert status == 400 and openai_error(raw)["param"] in ("input", "encoding_format", "dimensions")
    status, _, raw = await call(client, "/v1/embeddings", {"model": "e", "input": [[1, 2, 3]], "dimensions": 4}, OPENAI_AUTH)
    body = json.loads(raw)
    assert status == 200 and len(body["data"][0]["embedding"]) == 4 and body["usage"]["prompt_tokens"] == 3


async def test_configured_keys_reject_others_without_echoing_them(make_client: ClientFactory) -> None:
    client = await make_client(FakeProviderSettings(api_keys=frozenset({"good-key"})))
    status, _, raw = await call(client, "/v1/chat/completions", CHAT, {"Authorization": "Bearer bad-key-123"})
    error = openai_error(raw)
    assert status == 401 and error["code"] == "invalid_api_key" and b"bad-key-123" not in raw
    status, _, raw = await call(client, "/v1/messages", MESSAGE, {**ANTHROPIC_AUTH, "x-api-key": "bad-key-123"})
    assert status == 401 and anthropic_error(raw)["type"] == "authentication_error"
    status, _, _ = await call(client, "/v1/messages", MESSAGE, {"Authorization": "Bearer good-key", "anthropic-version": "1"})
    assert status == 200
    status, _, _ = await call(client, "/v1/chat/completions", CHAT, {"Authorization": "Bearer good-key"})
    assert status == 200


async def test_a_missing_key_is_a_401_for_every_provider(client: TestClient) -> None:
    assert (await call(client, "/v1/chat/completions", CHAT, {}))[0] == 401
    assert (await call(client, "/v1/messages", MESSAGE, {"anthropic-version": "1"}))[0] == 401
    assert (await call(client, "/v1beta/models/g:generateContent", GEMINI_BODY, {}))[0] == 401


async def test_unrouted_requests_get_404_and_405_in_the_provider_format(client: TestClient) -> None:
    status, _, raw = await call(client, "/v1/nothing", CHAT, OPENAI_AUTH)
    assert status == 404 and openai_error(raw)["code"] == "unknown_url"
    status, _, raw = await call(client, "/v1/chat/completions", None, OPENAI_AUTH, method="GET")
    assert status == 405 and openai_error(raw)["code"] == "method_not_allowed"
    status, _, raw = await call(client, "/v1/messages", None, ANTHROPIC_AUTH, method="DELETE")
    assert status == 405 and anthropic_error(raw)
    status, _, raw = await call(client, "/v1beta/tuned", None, GEMINI_AUTH, method="GET")
    assert status == 404 and json.loads(raw)["error"]["status"] == "NOT_FOUND"
    status, _, raw = await call(client, "/elsewhere", None, {}, method="GET")
    assert status == 404 and openai_error(raw)


async def test_an_oversized_body_is_a_413_in_the_provider_format(make_client: ClientFactory) -> None:
    client = await make_client(FakeProviderSettings(max_body_bytes=1024))
    body = {**MESSAGE, "messages": [{"role": "user", "content": "x" * 4000}]}
    status, _, raw = await call(client, "/v1/messages", body, ANTHROPIC_AUTH)
    assert status == 413 and anthropic_error(raw)["type"] == "request_too_large"


async def test_the_journal_masks_keys_and_keeps_every_other_header(client: TestClient) -> None:
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    await call(client, "/v1/chat/completions", CHAT, {**OPENAI_AUTH, "traceparent": traceparent, "tracestate": "a=b"})
    await call(client, "/v1/messages", MESSAGE, {**ANTHROPIC_AUTH, "x-api-key": "other-secret"})
    journal = await (await client.get("/_fake/journal")).json()
    first, second = journal["entries"]
    assert first["headers"]["traceparent"] == traceparent and first["headers"]["tracestate"] == "a=b"
    assert first["headers"]["authorization"].startswith("sha256:") and second["headers"]["x-api-key"].startswith("sha256:")
    assert "sk-test" not in json.dumps(journal) and "other-secret" not in json.dumps(journal)
    assert first["body"] == CHAT and (first["provider"], second["provider"]) == ("openai", "anthropic")
    assert second["response"]["first_byte_ns"] >= second["time_ns"]


async def test_the_journal_filters_and_drops_the_oldest(make_client: ClientFactory) -> None:
    client = await make_client(FakeProviderSettings(journal_capacity=3))
    for model in ("a", "b", "a", "b", "a"):
        await call(client, "/v1/chat/completions", {**CHAT, "model": model}, OPENAI_AUTH)
    journal = await (await client.get("/_fake/journal")).json()
    assert [e["seq"] for e in journal["entries"]] == [3, 4, 5] and journal["dropped"] == 2
    assert [e["seq"] for e in (await (await client.get("/_fake/journal?model=a&since=3")).json())["entries"]] == [5]
    assert (await client.get("/_fake/journal?since=x")).status == 400


async def test_the_admin_api_validates_lists_appends_clears_and_resets(make_client: ClientFactory) -> None:
    client = await make_client(FakeProviderSettings(behaviours=parse_rules([{"name": "boot", "model": "x"}])))
    resp = await client.put("/_fake/behaviours", json={"behaviours": [{"model": "m", "status": 99}]})
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "behaviours[0].status"
    resp = await client.put("/_fake/behaviours", json=[{"name": "one", "model": "m", "latency_ms": 1}])
    assert [r["name"] for r in (await resp.json())["behaviours"]] == ["one"]
    resp = await client.post("/_fake/behaviours", json={"name": "two", "model": "*"})
    assert [r["name"] for r in (await resp.json())["behaviours"]] == ["one", "two"]
    resp = await client.delete("/_fake/behaviours")
    assert (await resp.json())["behaviours"] == []
    await call(client, "/v1/chat/completions", CHAT, OPENAI_AUTH)
    resp = await client.post("/_fake/reset")
    assert [r["name"] for r in (await resp.json())["behaviours"]] == ["boot"]
    assert (await (await client.get("/_fake/journal")).json())["entries"] == []


async def test_a_bad_x_fake_header_is_a_400_naming_the_header(client: TestClient) -> None:
    status, _, raw = await call(client, "/v1/chat/completions", CHAT, {**OPENAI_AUTH, "x-fake-status": "teapot"})
    assert status == 400 and openai_error(raw)["param"] == "x-fake-status"


async def test_metrics_count_requests_by_provider_and_status(client: TestClient) -> None:
    await call(client, "/v1/chat/completions", CHAT, OPENAI_AUTH)
    text = await (await client.get("/metrics")).text()
    assert 'fake_providers_requests_total{endpoint="chat.completions",outcome="complete",provider="openai",status="200"} 1.0' in text
