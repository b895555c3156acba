"""The official ``anthropic`` SDK, with strict response validation, against the fake (ANT-*, SDK-01..03).

Sync and async, streamed and not, ``tool_use`` streamed as ``input_json_delta``, every stop
reason, usage with cache fields, errors mapped to the SDK's classes (529 ``OverloadedError``), a
mid-stream ``event: error`` raised by the SDK, and retries steered by ``retry-after``.
"""

from __future__ import annotations

import anthropic
import pytest

from fake_providers.tokens import count_tokens
from tests.fake_providers.helpers import FakeServer

pytestmark = pytest.mark.e2e

MODEL = "claude-sonnet-4-20250514"
USR = "CNRY-USR-99887766554433221100"
MESSAGES = [{"role": "user", "content": f"Hello {USR}"}]
TOOLS = [{"name": "get_weather", "description": "weather",
          "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}}}]  # fmt: skip


def sync_client(fake: FakeServer, **kw: object) -> anthropic.Anthropic:
    options = {"max_retries": 0, "_strict_response_validation": True, **kw}
    return anthropic.Anthropic(base_url=fake.url, api_key="sk-ant-test", **options)  # type: ignore[arg-type]


def test_a_message_validates_and_matches_the_journal(fake: FakeServer) -> None:
    raw = sync_client(fake).messages.with_raw_response.create(model=MODEL, max_tokens=200, messages=MESSAGES, system="terse")
    message = raw.parse()
    (block,) = message.content
    assert block.type == "text" and block.text.startswith("CNRY-OUT-") and USR in block.text
    assert message.stop_reason == "end_turn" and message.stop_sequence is None
    assert message.usage.input_tokens == count_tokens(f"terse user Hello {USR}")
    assert message.usage.output_tokens == count_tokens(block.text)
    assert message.usage.cache_read_input_tokens == 0 and message.usage.cache_creation_input_tokens == 0
    (entry,) = fake.journal()
    assert raw.headers["request-id"] == entry["request_id"] and entry["response"]["id"] == message.id


def test_cache_tokens_from_a_behaviour_stay_out_of_input_tokens(fake: FakeServer) -> None:
    fake.put_behaviours([{"model": MODEL, "cache_read_tokens": 2, "cache_creation_tokens": 1}])
    usage = sync_client(fake).messages.create(model=MODEL, max_tokens=200, messages=MESSAGES).usage
    total = count_tokens(f"user Hello {USR}")
    assert (usage.input_tokens, usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (total - 3, 2, 1)
    assert fake.journal()[0]["response"]["usage"]["input_tokens"] == total


def test_a_stream_has_the_exact_event_order_and_cumulative_usage(fake: FakeServer) -> None:
    client = sync_client(fake)
    plain = client.messages.create(model=MODEL, max_tokens=200, messages=MESSAGES)
    events = list(client.messages.create(model=MODEL, max_tokens=200, messages=MESSAGES, stream=True))
    kinds = [e.type for e in events]
    assert kinds[:2] == ["message_start", "content_block_start"]
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(kinds[2:-3]) == {"content_block_delta"}
    assert events[0].message.usage.output_tokens == 1
    assert events[-2].usage.output_tokens == plain.usage.output_tokens
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")
    assert text == plain.content[0].text  # type: ignore[union-attr]


def test_the_stream_helper_accumulates_text_and_a_tool_use_block(fake: FakeServer) -> None:
    client = sync_client(fake)
    with client.messages.stream(model=MODEL, max_tokens=300, messages=MESSAGES, tools=TOOLS) as stream:
        final = stream.get_final_message()
    text, tool = final.content
    assert text.type == "text" and tool.type == "tool_use"
    assert tool.name == "get_weather" and str(tool.input["location"]).startswith("CNRY-OTC-")
    assert tool.id.startswith("toolu_") and final.stop_reason == "tool_use"
    plain = client.messages.create(model=MODEL, max_tokens=300, messages=MESSAGES, tools=TOOLS)
    assert [plain.content[0].text, plain.content[1].input] == [text.text, tool.input]  # type: ignore[union-attr]
    assert plain.usage.output_tokens == final.usage.output_tokens


def test_a_tool_result_turn_is_answered_with_text(fake: FakeServer) -> None:
    messages = [*MESSAGES, {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather",
                "input": {}}]}, {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                "content": "sunny"}]}]  # fmt: skip
    message = sync_client(fake).messages.create(model=MODEL, max_tokens=300, messages=messages, tools=TOOLS)
    assert message.stop_reason == "end_turn" and [b.type for b in message.content] == ["text"]


@pytest.mark.parametrize(
    "reason", ["end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal", "model_context_window_exceeded"]
)
def test_every_stop_reason_can_be_forced(fake: FakeServer, reason: str) -> None:
    fake.put_behaviours([{"model": MODEL, "finish_reason": reason}])
    client = sync_client(fake)
    assert client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES).stop_reason == reason
    with client.messages.stream(model=MODEL, max_tokens=100, messages=MESSAGES) as stream:
        assert stream.get_final_message().stop_reason == reason


def test_natural_max_tokens_and_stop_sequence_reasons(fake: FakeServer) -> None:
    client = sync_client(fake)
    short = client.messages.create(model=MODEL, max_tokens=3, messages=MESSAGES)
    assert short.stop_reason == "max_tokens" and short.usage.output_tokens == 3
    word = client.messages.create(model=MODEL, max_tokens=300, messages=MESSAGES).content[0].text.split()[-2]  # type: ignore[union-attr]
    stopped = client.messages.create(model=MODEL, max_tokens=300, messages=MESSAGES, stop_sequences=[word])
    assert (stopped.stop_reason, stopped.stop_sequence) == ("stop_sequence", word)


async def test_the_async_client_streams_and_completes(fake: FakeServer) -> None:
    client = anthropic.AsyncAnthropic(base_url=fake.url, api_key="k", max_retries=0, _strict_response_validation=True)
    message = await client.messages.create(model=MODEL, max_tokens=200, messages=MESSAGES)
    async with client.messages.stream(model=MODEL, max_tokens=200, messages=MESSAGES) as stream:
        final = await stream.get_final_message()
    assert final.content[0].text == message.content[0].text  # type: ignore[union-attr]
    assert final.usage.output_tokens == message.usage.output_tokens
    await client.close()


@pytest.mark.parametrize(
    ("status", "error", "kind"),
    [(400, anthropic.BadRequestError, "invalid_request_error"), (401, anthropic.AuthenticationError, "authentication_error"),
     (403, anthropic.PermissionDeniedError, "permission_error"), (404, anthropic.NotFoundError, "not_found_error"),
     (429, anthropic.RateLimitError, "rate_limit_error"), (500, anthropic.InternalServerError, "api_error"),
     (503, anthropic.ServiceUnavailableError, "api_error"), (529, anthropic.OverloadedError, "overloaded_error")],
    ids=lambda v: str(v) if isinstance(v, int) else getattr(v, "__name__", v),
)  # fmt: skip
def test_each_error_status_maps_to_the_sdk_exception(fake: FakeServer, status: int, error: type, kind: str) -> None:
    fake.put_behaviours([{"model": MODEL, "status": status}])
    with pytest.raises(error) as info:
        sync_client(fake).messages.create(model=MODEL, max_tokens=100, messages=MESSAGES)
    exc = info.value
    assert exc.status_code == status and exc.type == kind
    assert exc.request_id == fake.journal()[0]["request_id"]
    assert exc.body["request_id"] == exc.request_id and "CNRY-ERR-" in exc.body["error"]["message"]


def test_overloaded_gives_529_overloaded_error_with_retry_after(fake: FakeServer) -> None:
    fake.put_behaviours([{"model": MODEL, "overloaded": True, "times": 1, "retry_after_ms": 10}])
    message = sync_client(fake, max_retries=1).messages.create(model=MODEL, max_tokens=100, messages=MESSAGES)
    assert message.stop_reason == "end_turn"
    first, second = fake.journal()
    assert first["response"]["status"] == 529 and first["response"]["error_type"] == "overloaded_error"
    assert [first["headers"]["x-stainless-retry-count"], second["headers"]["x-stainless-retry-count"]] == ["0", "1"]


def test_a_mid_stream_error_is_raised_by_the_sdk(fake: FakeServer) -> None:
    fake.put_behaviours([{"model": MODEL, "mid_stream_error": {"after_chunks": 1}}])
    with pytest.raises(anthropic.APIStatusError) as info:
        with sync_client(fake).messages.stream(model=MODEL, max_tokens=100, messages=MESSAGES) as stream:
            stream.get_final_message()
    assert info.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]
    assert USR in info.value.body["error"]["message"]  # type: ignore[index]
    assert fake.journal()[0]["response"]["outcome"] == "mid_stream_error"


def test_a_missing_anthropic_version_is_a_400(fake: FakeServer) -> None:
    client = sync_client(fake, default_headers={"anthropic-version": anthropic.Omit()})
    with pytest.raises(anthropic.BadRequestError, match="anthropic-version"):
        client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES)


def test_count_tokens_and_models_validate(fake: FakeServer) -> None:
    client = sync_client(fake)
    assert client.messages.count_tokens(model=MODEL, messages=MESSAGES).input_tokens == count_tokens(f"user Hello {USR}")
    assert MODEL in [m.id for m in client.models.list()]
