"""Anthropic Messages wire format upstream (SPEC 9.2), behind the OpenAI front (SPEC 9.5).

Request: system/developer messages become ``system``; tool calls become ``tool_use`` blocks and
tool results ``tool_result`` blocks in a user turn; ``max_tokens`` is required upstream, so a
request without one gets :data:`DEFAULT_MAX_TOKENS`. ``n`` > 1 has no Anthropic equivalent and is
refused. Response and stream: ``end_turn``/``stop_sequence``/``pause_turn`` -> ``stop``,
``max_tokens``/``model_context_window_exceeded`` -> ``length``, ``tool_use`` -> ``tool_calls``,
``refusal`` -> ``content_filter``. Usage: prompt = input + cache_read + cache_creation (SEM-09).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

from testbed.gateway.config import TargetConfig
from testbed.gateway.providers.base import (
    OTHER_ERROR,
    ChatResult,
    ChunkMaker,
    Json,
    OutChunk,
    RequestNotSupported,
    StreamState,
    UpstreamError,
    UpstreamRequest,
    guarded_feed,
    guarded_response,
    chat_choice,
    dumps,
    max_tokens_of,
    openai_usage,
    parse_json,
    stop_list,
    stream_error,
    text_of,
    tool_call,
    translated_error,
)
from testbed.gateway.providers.sse import SseEvent
from testbed.trace_event import Usage

PROVIDER_NAME: Final = "anthropic"
API_VERSION: Final = "2023-06-01"
DEFAULT_MAX_TOKENS: Final = 4096
FINISH_TO_FRONT: Final = {"end_turn": "stop", "stop_sequence": "stop", "pause_turn": "stop",
                          "max_tokens": "length", "model_context_window_exceeded": "length",
                          "tool_use": "tool_calls", "refusal": "content_filter"}
FINISH_TO_SEMCONV: Final = {"end_turn": "stop", "stop_sequence": "stop", "pause_turn": "stop",
                            "max_tokens": "length", "model_context_window_exceeded": "length",
                            "tool_use": "tool_call", "refusal": "content_filter"}


def usage_from(raw: Any) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    base = raw.get("input_tokens") or 0
    cache_read = raw.get("cache_read_input_tokens") or 0
    cache_creation = raw.get("cache_creation_input_tokens") or 0
    return Usage(input=base + cache_read + cache_creation, output=raw.get("output_tokens"),
                 cache_read=cache_read, cache_creation=cache_creation)


def _blocks(content: Any) -> list[Json]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[Json] = []
    for part in content or ():
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text":
            blocks.append({"type": "text", "text": part.get("text", "")})
        elif part.get("type") == "image_url":
            blocks.append(_image(part.get("image_url") or {}))
    return blocks


def _image(image: Json) -> Json:
    url = str(image.get("url", ""))
    if url.startswith("data:") and ";base64," in url:
        head, data = url[5:].split(";base64,", 1)
        return {"type": "image", "source": {"type": "base64", "media_type": head, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def _arguments(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            return {"arguments": raw}
    return raw if isinstance(raw, dict) else {}


def _message(msg: Json) -> Json:
    role = msg.get("role")
    if role == "tool":
        block = {"type": "tool_result", "tool_use_id": str(msg.get("tool_call_id", "")),
                 "content": text_of(msg.get("content"))}
        return {"role": "user", "content": [block]}
    blocks = _blocks(msg.get("content"))
    if role == "assistant":
        for call in msg.get("tool_calls") or ():
            function = call.get("function") or {}
            blocks.append({"type": "tool_use", "id": call.get("id", ""), "name": function.get("name", ""),
                           "input": _arguments(function.get("arguments"))})
        return {"role": "assistant", "content": blocks}
    return {"role": "user", "content": blocks}


def convert_messages(messages: list[Json]) -> tuple[list[Json], list[Json]]:
    """(system blocks, messages); consecutive turns of one role are merged, as Anthropic alternates."""
    system: list[Json] = []
    out: list[Json] = []
    for msg in messages:
        if msg.get("role") in ("system", "developer"):
            system.extend(_blocks(msg.get("content")))
            continue
        converted = _message(msg)
        if out and out[-1]["role"] == converted["role"]:
            out[-1]["content"].extend(converted["content"])
        else:
            out.append(converted)
    return system, out


def _tool_choice(choice: Any, parallel: Any) -> Json | None:
    result: Json | None = None
    if choice == "auto":
        result = {"type": "auto"}
    elif choice == "none":
        result = {"type": "none"}
    elif choice == "required":
        result = {"type": "any"}
    elif isinstance(choice, dict):
        result = {"type": "tool", "name": (choice.get("function") or {}).get("name", "")}
    if parallel is False:
        result = {**(result or {"type": "auto"}), "disable_parallel_tool_use": True}
    return result


def chat_body(target: TargetConfig, body: Json, stream: bool) -> Json:
    n = body.get("n")
    if isinstance(n, int) and n > 1:
        raise RequestNotSupported("n > 1 is not supported by Anthropic targets", "n")
    system, messages = convert_messages(body.get("messages") or [])
    out: Json = {"model": target.model, "max_tokens": max_tokens_of(body) or DEFAULT_MAX_TOKENS,
                 "messages": messages}
    if system:
        out["system"] = system
    for src, dst in (("temperature", "temperature"), ("top_p", "top_p"), ("top_k", "top_k")):
        if body.get(src) is not None:
            out[dst] = body[src]
    stops = stop_list(body.get("stop"))
    if stops:
        out["stop_sequences"] = stops
    tools = [t.get("function") or {} for t in body.get("tools") or () if isinstance(t, dict)]
    if tools:
        out["tools"] = [{"name": f.get("name", ""), "description": f.get("description", ""),
                         "input_schema": f.get("parameters") or {"type": "object", "properties": {}}}
                        for f in tools]
    choice = _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
    if choice is not None and tools:
        out["tool_choice"] = choice
    if stream:
        out["stream"] = True
    return out


class AnthropicAdapter:
    provider_name = PROVIDER_NAME

    def chat_request(self, target: TargetConfig, body: Json, stream: bool) -> UpstreamRequest:
        headers = {"x-api-key": target.api_key, "anthropic-version": API_VERSION,
                   "Content-Type": "application/json"}
        return UpstreamRequest(f"{target.base_url}/v1/messages", headers, dumps(chat_body(target, body, stream)))

    def chat_response(self, raw: bytes, created: int) -> ChatResult:
        return guarded_response(self._chat_response, raw, created)

    def _chat_response(self, raw: bytes, created: int) -> ChatResult:
        data = parse_json(raw)
        if not isinstance(data, dict) or not isinstance(data.get("content"), list):
            raise ValueError("upstream body is not an Anthropic message")
        texts: list[str] = []
        calls: list[Json] = []
        for block in data["content"]:
            if block.get("type") == "text":
                texts.append(block.get("text", ""))
            elif block.get("type") == "tool_use":
                calls.append(tool_call(block.get("id", ""), block.get("name", ""), dumps(block.get("input", {})).decode()))
        raw_finish = data.get("stop_reason")
        usage = usage_from(data.get("usage")) or Usage()
        choice = chat_choice(0, "".join(texts) if texts else None, calls, FINISH_TO_FRONT.get(raw_finish, "stop"))
        body = {"id": data.get("id"), "object": "chat.completion", "created": created, "model": data.get("model"),
                "choices": [choice], "usage": openai_usage(usage), "system_fingerprint": None}
        return ChatResult(dumps(body), data.get("id"), data.get("model"),
                          [str(raw_finish)] if raw_finish else [], usage, [choice])

    def stream_translator(self, include_usage: bool, created: int) -> AnthropicStream:
        return AnthropicStream(ChunkMaker(created=created, include_usage=include_usage))

    def error(self, status: int, raw: bytes) -> UpstreamError:
        data = parse_json(raw)
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, dict):
            message = error.get("message") if isinstance(error.get("message"), str) else None
            return translated_error(status, error.get("type"), message)
        return translated_error(status, None, None)

    def semconv_finish_reason(self, raw: str) -> str:
        return FINISH_TO_SEMCONV.get(raw, raw)


@dataclass(slots=True)
class AnthropicStream:
    """Anthropic stream events (ANT-05) -> OpenAI chunks (OAI-06)."""

    maker: ChunkMaker
    state: StreamState = field(default_factory=StreamState)
    _tool_index: dict[int, int] = field(default_factory=dict)
    _raw_usage: Json = field(default_factory=dict)

    def feed(self, event: SseEvent) -> list[OutChunk]:
        return guarded_feed(self.state, self._feed, event)

    def _feed(self, event: SseEvent) -> list[OutChunk]:
        if self.state.done or self.state.error is not None:
            return []
        data = parse_json(event.data)
        if not isinstance(data, dict):
            return []
        kind = event.event or data.get("type")
        handler = _HANDLERS.get(str(kind))
        return handler(self, data) if handler else []

    def _start(self, data: Json) -> list[OutChunk]:
        message = data.get("message") or {}
        self.state.response_id = self.maker.response_id = str(message.get("id", self.maker.response_id))
        self.state.model = self.maker.model = str(message.get("model", ""))
        self._usage(message.get("usage"))
        return [self.maker.delta(0, {"role": "assistant", "content": ""})]

    def _block_start(self, data: Json) -> list[OutChunk]:
        block = data.get("content_block") or {}
        if block.get("type") == "tool_use":
            index = self._tool_index[int(data.get("index", 0))] = len(self._tool_index)
            call = {"index": index, **tool_call(block.get("id", ""), block.get("name", ""), "")}
            return [self.maker.delta(0, {"tool_calls": [call]})]
        if block.get("type") == "text" and block.get("text"):
            return [self.maker.delta(0, {"content": block["text"]})]
        return []

    def _block_delta(self, data: Json) -> list[OutChunk]:
        delta = data.get("delta") or {}
        if delta.get("type") == "text_delta":
            return [self.maker.delta(0, {"content": delta.get("text", "")})]
        if delta.get("type") == "input_json_delta":
            index = self._tool_index.get(int(data.get("index", 0)), 0)
            call = {"index": index, "function": {"arguments": delta.get("partial_json", "")}}
            return [self.maker.delta(0, {"tool_calls": [call]})]
        return []

    def _message_delta(self, data: Json) -> list[OutChunk]:
        self._usage(data.get("usage"))
        raw = (data.get("delta") or {}).get("stop_reason")
        if raw is None:
            return []
        self.state.finish_reasons[0] = str(raw)
        return [self.maker.delta(0, {}, FINISH_TO_FRONT.get(str(raw), "stop"))]

    def _stop(self, data: Json) -> list[OutChunk]:
        self.state.done = True
        return []

    def _error(self, data: Json) -> list[OutChunk]:
        error = data.get("error") if isinstance(data.get("error"), dict) else {}
        message = error.get("message") if isinstance(error.get("message"), str) else None
        self.state.error = stream_error(str(error.get("type") or OTHER_ERROR), message)
        return [(parse_json(self.state.error.body), self.state.error.body)]

    def _usage(self, raw: Any) -> None:
        if isinstance(raw, dict):
            # message_delta carries cumulative counts that overwrite the running value (ANT-06).
            self._raw_usage.update({k: v for k, v in raw.items() if isinstance(v, int)})
            self.state.usage = usage_from(self._raw_usage)

    def close(self) -> list[OutChunk]:
        if self.state.error is not None:
            return []
        if not self.state.done:
            self.state.error = stream_error(OTHER_ERROR, "upstream stream ended before message_stop")
            return [(parse_json(self.state.error.body), self.state.error.body)]
        return self.maker.usage_chunk(self.state.usage)


_HANDLERS: Final = {
    "message_start": AnthropicStream._start,
    "content_block_start": AnthropicStream._block_start,
    "content_block_delta": AnthropicStream._block_delta,
    "message_delta": AnthropicStream._message_delta,
    "message_stop": AnthropicStream._stop,
    "error": AnthropicStream._error,
}
