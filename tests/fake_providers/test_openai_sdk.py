"""The official ``openai`` SDK, with strict response validation, against the fake (SDK-01..04, OAI-*).

Sync and async clients, streamed and not, tool calls (streamed too), ``n``=2, embeddings with the
default encoding, the Responses API, every error status mapped to the SDK's own exception, a
mid-stream error raised by the SDK, and retries steered by ``retry-after-ms`` / ``retry-after`` /
``x-should-retry`` as seen in the fake's journal.
"""

from __future__ import annotations

import base64
import struct

import openai
import pytest

from fake_providers import canaries
from fake_providers.tokens import count_tokens
from tests.fake_providers.helpers import FakeServer

pytestmark = pytest.mark.e2e

MODEL = "gpt-4o-mini"
USR = "CNRY-USR-00112233445566778899"
MESSAGES = [{"role": "system", "content": "be brief"}, {"role": "user", "content": f"Say hi {USR}"}]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "weather",
          "parameters": {"type": "object", "properties": {"location": {"type": "string"}}}}}]  # fmt: skip


def sync_client(fake: FakeServer, **kw: object) -> openai.OpenAI:
    options = {"max_retries": 0, "_strict_response_validation": True, **kw}
    return openai.OpenAI(base_url=f"{fake.url}/v1", api_key="sk-test", **options)  # type: ignore[arg-type]


def async_client(fake: FakeServer) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{fake.url}/v1", api_key="sk-test", max_retries=0, _strict_response_validation=True)


def test_a_chat_completion_validates_and_matches_the_journal(fake: FakeServer) -> None:
    raw = sync_client(fake).chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES)
    completion = raw.parse()
    text = completion.choices[0].message.content
    assert completion.object == "chat.completion" and completion.choices[0].finish_reason == "stop"
    assert text is not None and text.startswith("CNRY-OUT-") and USR in text
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == count_tokens("system be brief user Say hi " + USR)
    assert completion.usage.completion_tokens == count_tokens(text)
    (entry,) = fake.journal()
    assert raw.headers["x-request-id"] == entry["request_id"]
    assert entry["response"]["id"] == completion.id
    assert entry["response"]["usage_raw"]["total_tokens"] == completion.usage.total_tokens
    assert entry["response"]["canaries"]["out"] == [text.split()[0]]


def test_the_same_request_twice_gives_the_same_content_and_usage(fake: FakeServer) -> None:
    client = sync_client(fake)
    first, second = (client.chat.completions.create(model=MODEL, messages=MESSAGES, seed=3) for _ in range(2))
    assert first.id != second.id
    assert first.choices[0].message.content == second.choices[0].message.content
    assert first.usage == second.usage


def test_a_stream_with_usage_reassembles_the_same_text(fake: FakeServer) -> None:
    client = sync_client(fake)
    plain = client.chat.completions.create(model=MODEL, messages=MESSAGES).choices[0].message.content
    chunks = list(client.chat.completions.create(
        model=MODEL, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    ))  # fmt: skip
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    pieces = [c.choices[0].delta.content or "" for c in chunks if c.choices]
    assert "".join(pieces) == plain
    assert chunks[-1].usage.completion_tokens == count_tokens(plain or "")
    out = (plain or "").split()[0]
    first, second = canaries.fragments(out)
    assert not any(out in piece for piece in pieces)
    assert any(first in p for p in pieces) and any(second in p for p in pieces)


def test_n_2_gives_two_choices_streamed_and_not(fake: FakeServer) -> None:
    client = sync_client(fake)
    completion = client.chat.completions.create(model=MODEL, messages=MESSAGES, n=2)
    assert [c.index for c in completion.choices] == [0, 1]
    texts = [c.message.content for c in completion.choices]
    assert texts[0] != texts[1]
    streamed = {0: "", 1: ""}
    for chunk in client.chat.completions.create(model=MODEL, messages=MESSAGES, n=2, stream=True):
        for choice in chunk.choices:
            streamed[choice.index] += choice.delta.content or ""
    assert [streamed[0], streamed[1]] == texts


def test_tools_give_a_tool_call_with_the_otc_canary(fake: FakeServer) -> None:
    completion = sync_client(fake).chat.completions.create(model=MODEL, messages=MESSAGES, tools=TOOLS)
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    (call,) = choice.message.tool_calls or []
    assert call.type == "function" and call.function.name == "get_weather"
    assert call.id.startswith("call_") and "CNRY-OTC-" in call.function.arguments


def test_a_streamed_tool_call_accumulates_to_the_same_arguments(fake: FakeServer) -> None:
    client = sync_client(fake)
    plain = client.chat.completions.create(model=MODEL, messages=MESSAGES, tools=TOOLS).choices[0].message
    with client.chat.completions.stream(model=MODEL, messages=MESSAGES, tools=TOOLS) as stream:
        final = stream.get_final_completion()
    (call,) = final.choices[0].message.tool_calls or []
    assert final.choices[0].finish_reason == "tool_calls"
    assert call.function.arguments == (plain.tool_calls or [])[0].function.arguments


def test_max_tokens_reached_reports_length(fake: FakeServer) -> None:
    completion = sync_client(fake).chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=4)
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None and completion.usage.completion_tokens == 4


async def test_the_async_client_streams_and_completes(fake: FakeServer) -> None:
    client = async_client(fake)
    completion = await client.chat.completions.create(model=MODEL, messages=MESSAGES)
    stream = await client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == completion.choices[0].message.content
    await client.close()


def test_embeddings_with_the_default_encoding_decode_to_the_float_vectors(fake: FakeServer) -> None:
    # The SDK types `embedding` as a float list, so its strict mode cannot validate the base64 it
    # asks for by default (an SDK limitation); the default-encoding call runs without strict mode.
    default = sync_client(fake, _strict_response_validation=False).embeddings.create(model="e", input=["a b", "c"])
    floats = sync_client(fake).embeddings.create(model="e", input=["a b", "c"], encoding_format="float")
    assert [len(d.embedding) for d in default.data] == [1536, 1536]
    assert [d.embedding for d in default.data] == [d.embedding for d in floats.data]
    assert default.usage.prompt_tokens == 3
    sent = [e["body"] for e in fake.journal(path="/v1/embeddings")]
    assert sent[0]["encoding_format"] == "base64" and sent[1]["encoding_format"] == "float"


def test_raw_base64_embeddings_are_little_endian_float32(fake: FakeServer) -> None:
    client = sync_client(fake, _strict_response_validation=False)
    raw = client.embeddings.with_raw_response.create(model="e", input="x", encoding_format="base64", dimensions=8)
    blob = base64.b64decode(raw.http_response.json()["data"][0]["embedding"])
    floats = sync_client(fake).embeddings.create(model="e", input="x", encoding_format="float", dimensions=8)
    assert list(struct.unpack("<8f", blob)) == floats.data[0].embedding


def test_models_list_validates(fake: FakeServer) -> None:
    ids = [m.id for m in sync_client(fake).models.list()]
    assert MODEL in ids


def test_the_responses_api_answers_plain_and_as_named_events(fake: FakeServer) -> None:
    client = sync_client(fake)
    plain = client.responses.create(model=MODEL, input=f"hello {USR}")
    events = list(client.responses.create(model=MODEL, input=f"hello {USR}", stream=True))
    assert plain.status == "completed" and USR in plain.output_text
    assert [e.type for e in events[:4]] == [
        "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
    ]  # fmt: skip
    assert events[-1].type == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == plain.output_text
    assert events[-1].response.usage == plain.usage


def test_the_responses_api_calls_function_tools_and_reports_incomplete(fake: FakeServer) -> None:
    client = sync_client(fake)
    tools = [{"type": "function", "name": "lookup", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}]
    called = client.responses.create(model=MODEL, input="find", tools=tools)  # type: ignore[arg-type]
    assert called.output[0].type == "function_call" and "CNRY-OTC-" in called.output[0].arguments
    events = list(client.responses.create(model=MODEL, input="find", max_output_tokens=3, stream=True))
    assert events[-1].type == "response.incomplete"
    final = events[-1].response
    assert final.status == "incomplete" and final.incomplete_details is not None
    assert final.usage is not None and final.usage.output_tokens == 3


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, openai.BadRequestError), (401, openai.AuthenticationError), (403, openai.PermissionDeniedError),
     (404, openai.NotFoundError), (409, openai.ConflictError), (422, openai.UnprocessableEntityError),
     (429, openai.RateLimitError), (500, openai.InternalServerError), (503, openai.InternalServerError)],
    ids=lambda v: str(v) if isinstance(v, int) else v.__name__,
)  # fmt: skip
def test_each_error_status_maps_to_the_sdk_exception(fake: FakeServer, status: int, error: type) -> None:
    fake.put_behaviours([{"model": MODEL, "status": status}])
    with pytest.raises(error) as info:
        sync_client(fake).chat.completions.create(model=MODEL, messages=MESSAGES)
    exc = info.value
    assert exc.status_code == status and exc.request_id == fake.journal()[0]["request_id"]
    assert isinstance(exc.body, dict) and set(exc.body) == {"message", "type", "param", "code"}
    assert "CNRY-ERR-" in exc.body["message"] and USR in exc.body["message"]


def test_a_mid_stream_error_is_raised_by_the_sdk(fake: FakeServer) -> None:
    fake.put_behaviours([{"model": MODEL, "mid_stream_error": {"after_chunks": 2}}])
    got: list[str] = []
    with pytest.raises(openai.APIError, match="server had an error"):
        for chunk in sync_client(fake).chat.completions.create(model=MODEL, messages=MESSAGES, stream=True):
            got.extend(c.delta.content or "" for c in chunk.choices)
    assert len([g for g in got if g]) == 2
    response = fake.journal()[0]["response"]
    assert (response["outcome"], response["chunks"]) == ("mid_stream_error", 2)


def test_a_429_with_retry_after_ms_is_retried_once(fake: FakeServer) -> None:
    fake.put_behaviours([{"model": MODEL, "status": 429, "times": 1, "retry_after_ms": 10}])
    completion = sync_client(fake, max_retries=1).chat.completions.create(model=MODEL, messages=MESSAGES)
    assert completion.choices[0].finish_reason == "stop"
    first, second = fake.journal()
    assert [first["headers"]["x-stainless-retry-count"], second["headers"]["x-stainless-retry-count"]] == ["0", "1"]
    assert first["response"]["status"] == 429 and second["response"]["status"] == 200
    assert first["behaviour"]["fault_fired"] and not second["behaviour"]["fault_fired"]


def test_retry_after_in_seconds_steers_the_retry_too(fake: FakeServer) -> None:
    fake.put_behaviours([{"model": MODEL, "status": 503, "times": 1, "retry_after": "0.01"}])
    sync_client(fake, max_retries=1).chat.completions.create(model=MODEL, messages=MESSAGES)
    assert [e["response"]["status"] for e in fake.journal()] == [503, 200]


def test_x_should_retry_false_stops_the_sdk_retrying(fake: FakeServer) -> None:
    fake.put_behaviours([{"model": MODEL, "status": 503, "should_retry": False, "retry_after_ms": 10}])
    with pytest.raises(openai.InternalServerError):
        sync_client(fake, max_retries=2).chat.completions.create(model=MODEL, messages=MESSAGES)
    assert len(fake.journal()) == 1


def test_an_x_fake_header_fails_one_request_directly(fake: FakeServer) -> None:
    client = sync_client(fake, max_retries=1)
    headers = {"x-fake-status": "429", "x-fake-times": "1", "x-fake-retry-after-ms": "5"}
    client.chat.completions.create(model=MODEL, messages=MESSAGES, extra_headers=headers)
    assert [e["response"]["status"] for e in fake.journal()] == [429, 200]
