"""Gemini-style routes with raw HTTP against recorded-shape expectations (GEM-01..05).

There is no Gemini SDK in the dependencies, so these tests check the documented shapes: candidates
with ``finishReason``, ``usageMetadata``, SSE frames without event names or ``[DONE]``, the JSON
array form of ``streamGenerateContent``, and errors as ``{"error": {"code", "message", "status"}}``.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp.test_utils import TestClient

from fake_providers.tokens import count_tokens
from tests.fake_providers.helpers import GEMINI_AUTH, sse_events

USR = "CNRY-USR-abcdefabcdefabcdef01"
BODY: dict[str, Any] = {
    "systemInstruction": {"parts": [{"text": "be brief"}]},
    "contents": [{"role": "user", "parts": [{"text": f"Hello {USR}"}]}],
}
PATH = "/v1beta/models/gemini-2.0-flash"


async def post(client: TestClient, method: str, body: Any, query: str = "", headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    resp = await client.post(f"{PATH}:{method}{query}", json=body, headers=headers if headers is not None else GEMINI_AUTH)
    return resp.status, resp.headers, await resp.read()


async def test_generate_content_has_candidates_finish_reason_and_usage(client: TestClient) -> None:
    status, _, raw = await post(client, "generateContent", BODY)
    body = json.loads(raw)
    assert status == 200 and set(body) == {"candidates", "usageMetadata", "modelVersion", "responseId"}
    (candidate,) = body["candidates"]
    assert candidate["finishReason"] == "STOP" and candidate["index"] == 0
    assert candidate["content"]["role"] == "model"
    text = candidate["content"]["parts"][0]["text"]
    assert text.startswith("CNRY-OUT-") and USR in text
    usage = body["usageMetadata"]
    assert usage["promptTokenCount"] == count_tokens(f"be brief user Hello {USR}")
    assert usage["candidatesTokenCount"] == count_tokens(text)
    assert usage["totalTokenCount"] == usage["promptTokenCount"] + usage["candidatesTokenCount"]
    assert body["modelVersion"] == "gemini-2.0-flash"


async def test_the_sse_stream_reassembles_the_same_text_and_ends_with_usage(client: TestClient) -> None:
    _, _, plain = await post(client, "generateContent", BODY)
    status, headers, raw = await post(client, "streamGenerateContent", BODY, "?alt=sse")
    assert status == 200 and headers["Content-Type"].startswith("text/event-stream")
    assert b"[DONE]" not in raw and b"event:" not in raw
    frames = [json.loads(data) for name, data in sse_events(raw)]
    text = "".join(p.get("text", "") for f in frames for p in f["candidates"][0]["content"]["parts"])
    expected = json.loads(plain)
    assert text == expected["candidates"][0]["content"]["parts"][0]["text"]
    assert all("finishReason" not in f["candidates"][0] for f in frames[:-1])
    assert frames[-1]["candidates"][0]["finishReason"] == "STOP"
    assert frames[-1]["usageMetadata"] == expected["usageMetadata"]


async def test_stream_without_alt_sse_is_one_json_array(client: TestClient) -> None:
    status, headers, raw = await post(client, "streamGenerateContent", BODY)
    frames = json.loads(raw)
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert isinstance(frames, list) and "usageMetadata" in frames[-1]


async def test_max_output_tokens_gives_max_tokens_and_candidate_count_gives_candidates(client: TestClient) -> None:
    body = {**BODY, "generationConfig": {"maxOutputTokens": 5, "candidateCount": 2}}
    _, _, raw = await post(client, "generateContent", body)
    candidates = json.loads(raw)["candidates"]
    assert [c["finishReason"] for c in candidates] == ["MAX_TOKENS", "MAX_TOKENS"]
    assert [c["index"] for c in candidates] == [0, 1]
    assert json.loads(raw)["usageMetadata"]["candidatesTokenCount"] == 10


async def test_function_declarations_give_a_function_call(client: TestClient) -> None:
    tools = [{"functionDeclarations": [{"name": "lookup", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}]}]
    _, _, raw = await post(client, "generateContent", {**BODY, "tools": tools})
    part = json.loads(raw)["candidates"][0]["content"]["parts"][0]
    assert part["functionCall"]["name"] == "lookup" and part["functionCall"]["args"]["q"].startswith("CNRY-OTC-")


async def test_reasoning_and_cache_counts_appear_as_thoughts_and_cached(client: TestClient) -> None:
    headers = {**GEMINI_AUTH, "x-fake-reasoning-tokens": "4", "x-fake-cache-read-tokens": "2"}
    _, _, raw = await post(client, "generateContent", BODY, headers=headers)
    usage = json.loads(raw)["usageMetadata"]
    assert usage["thoughtsTokenCount"] == 4 and usage["cachedContentTokenCount"] == 2
    assert usage["totalTokenCount"] == usage["promptTokenCount"] + usage["candidatesTokenCount"] + 4


async def test_errors_use_the_google_status_body(client: TestClient) -> None:
    status, _, raw = await post(client, "generateContent", {"contents": []})
    assert status == 400 and json.loads(raw)["error"]["status"] == "INVALID_ARGUMENT"
    status, _, raw = await post(client, "generateContent", BODY, headers={})
    assert status == 401 and json.loads(raw)["error"]["status"] == "UNAUTHENTICATED"
    status, _, raw = await post(client, "nonsense", BODY)
    assert status == 404 and json.loads(raw)["error"]["code"] == 404
    headers = {**GEMINI_AUTH, "x-fake-status": "429", "x-fake-retry-after-ms": "22000"}
    status, _, raw = await post(client, "generateContent", BODY, headers=headers)
    error = json.loads(raw)["error"]
    assert status == 429 and error["status"] == "RESOURCE_EXHAUSTED" and error["code"] == 429
    assert error["details"] == [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "22s"}]
    assert "CNRY-ERR-" in error["message"] and USR in error["message"]


async def test_a_mid_stream_error_is_a_data_frame_with_an_error_object(client: TestClient) -> None:
    headers = {**GEMINI_AUTH, "x-fake-mid-stream-error-after-chunks": "2"}
    _, _, raw = await post(client, "streamGenerateContent", BODY, "?alt=sse", headers=headers)
    frames = [json.loads(data) for _, data in sse_events(raw)]
    assert len(frames) == 3 and frames[-1]["error"]["status"] == "INTERNAL"


async def test_the_key_query_parameter_is_accepted_and_masked_in_the_journal(client: TestClient) -> None:
    status, _, _ = await post(client, "generateContent", BODY, "?key=secret-key", headers={})
    assert status == 200
    journal = await (await client.get("/_fake/journal")).json()
    assert journal["entries"][0]["query"]["key"].startswith("sha256:")
    assert "secret-key" not in json.dumps(journal)


async def test_count_tokens_and_model_list(client: TestClient) -> None:
    _, _, raw = await post(client, "countTokens", BODY)
    assert json.loads(raw) == {"totalTokens": count_tokens(f"be brief user Hello {USR}")}
    resp = await client.get("/v1beta/models", headers=GEMINI_AUTH)
    assert "models/gemini-2.0-flash" in [m["name"] for m in (await resp.json())["models"]]
