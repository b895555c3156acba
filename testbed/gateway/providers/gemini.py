"""Gemini generateContent wire format upstream (SPEC 9.3), behind the OpenAI front (SPEC 9.5).

Request: system/developer messages become ``systemInstruction``; assistant turns are role
``model``; tool calls become ``functionCall`` parts and tool results ``functionResponse`` parts
(named after the call they answer); sampling options go into ``generationConfig``; ``n`` becomes
``candidateCount``. Streams use ``:streamGenerateContent?alt=sse``; the body's end is the
stream's end, and a stream whose last frame had no ``finishReason`` counts as cut.
Finish reasons: ``STOP`` -> ``stop`` (``tool_calls`` when the candidate called a function),
``MAX_TOKENS`` -> ``length``, content-filter reasons -> ``content_filter``, anything else ->
``stop`` at the front (the raw value is recorded on the span). Usage: prompt = promptTokenCount,
completion = candidatesTokenCount + thoughtsTokenCount (SEM-09).
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

PROVIDER_NAME: Final = "gcp.gemini"
FILTER_REASONS: Final = frozenset({"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII"})
_CONFIG_KEYS: Final = (("temperature", "temperature"), ("top_p", "topP"), ("top_k", "topK"), ("seed", "seed"),
                       ("presence_penalty", "presencePenalty"), ("frequency_penalty", "frequencyPenalty"))


def usage_from(raw: Any) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    thoughts = raw.get("thoughtsTokenCount")
    candidates = raw.get("candidatesTokenCount") or 0
    return Usage(input=raw.get("promptTokenCount"), output=candidates + (thoughts or 0),
                 cache_read=raw.get("cachedContentTokenCount"), reasoning=thoughts)


def front_finish(raw: str | None, called_function: bool) -> str:
    if raw == "MAX_TOKENS":
        return "length"
    if raw in FILTER_REASONS:
        return "content_filter"
    return "tool_calls" if called_function else "stop"


def semconv_finish(raw: str) -> str:
    if raw == "STOP":
        return "stop"
    if raw == "MAX_TOKENS":
        return "length"
    return "content_filter" if raw in FILTER_REASONS else "error"


def _arguments(raw: Any) -> Json:
    if isinstance(raw, str):
        try:
            parsed = json.loads(raw) if raw else {}
        except ValueError:
            return {"arguments": raw}
        return parsed if isinstance(parsed, dict) else {"value": parsed}
    return raw if isinstance(raw, dict) else {}


def _parts(msg: Json, names: dict[str, str]) -> list[Json]:
    if msg.get("role") == "tool":
        call_id = str(msg.get("tool_call_id", ""))
        text = text_of(msg.get("content"))
        parsed = parse_json(text.encode())
        response = parsed if isinstance(parsed, dict) else {"content": text}
        return [{"functionResponse": {"name": names.get(call_id, call_id), "response": response}}]
    parts: list[Json] = []
    text = text_of(msg.get("content"))
    if text:
        parts.append({"text": text})
    for call in msg.get("tool_calls") or ():
        function = call.get("function") or {}
        names[str(call.get("id", ""))] = str(function.get("name", ""))
        parts.append({"functionCall": {"name": function.get("name", ""), "args": _arguments(function.get("arguments"))}})
    return parts


def convert_messages(messages: list[Json]) -> tuple[list[Json], list[Json]]:
    """(systemInstruction parts, contents); consecutive turns of one role are merged."""
    system: list[Json] = []
    contents: list[Json] = []
    names: dict[str, str] = {}
    for msg in messages:
        if msg.get("role") in ("system", "developer"):
            text = text_of(msg.get("content"))
            if text:
                system.append({"text": text})
            continue
        role = "model" if msg.get("role") == "assistant" else "user"
        parts = _parts(msg, names)
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    return system, contents


def _generation_config(body: Json) -> Json:
    config: Json = {gem: body[src] for src, gem in _CONFIG_KEYS if body.get(src) is not None}
    if max_tokens_of(body) is not None:
        config["maxOutputTokens"] = max_tokens_of(body)
    if stop_list(body.get("stop")):
        config["stopSequences"] = stop_list(body.get("stop"))
    if isinstance(body.get("n"), int) and body["n"] > 1:
        config["candidateCount"] = body["n"]
    response_format = body.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") in ("json_object", "json_schema"):
        config["responseMimeType"] = "application/json"
    return config


def _tool_config(choice: Any) -> Json | None:
    modes = {"auto": "AUTO", "none": "NONE", "required": "ANY"}
    if isinstance(choice, str) and choice in modes:
        return {"functionCallingConfig": {"mode": modes[choice]}}
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name", "")
        return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [name]}}
    return None


def chat_body(body: Json) -> Json:
    system, contents = convert_messages(body.get("messages") or [])
    out: Json = {"contents": contents}
    if system:
        out["systemInstruction"] = {"parts": system}
    functions = [t.get("function") or {} for t in body.get("tools") or () if isinstance(t, dict)]
    if functions:
        out["tools"] = [{"functionDeclarations": [
            {k: v for k, v in (("name", f.get("name", "")), ("description", f.get("description")),
                               ("parameters", f.get("parameters"))) if v is not None} for f in functions]}]
        tool_config = _tool_config(body.get("tool_choice"))
        if tool_config:
            out["toolConfig"] = tool_config
    config = _generation_config(body)
    if config:
        out["generationConfig"] = config
    return out


def _candidate(candidate: Json, call_base: int) -> tuple[str | None, list[Json]]:
    texts: list[str] = []
    calls: list[Json] = []
    for part in (candidate.get("content") or {}).get("parts") or ():
        if "text" in part and not part.get("thought"):
            texts.append(str(part["text"]))
        elif isinstance(part.get("functionCall"), dict):
            call = part["functionCall"]
            call_id = str(call.get("id") or f"call_{call_base + len(calls)}")
            calls.append(tool_call(call_id, str(call.get("name", "")), dumps(call.get("args") or {}).decode()))
    return ("".join(texts) if texts else None), calls


class GeminiAdapter:
    provider_name = PROVIDER_NAME

    def chat_request(self, target: TargetConfig, body: Json, stream: bool) -> UpstreamRequest:
        action = "streamGenerateContent?alt=sse" if stream else "generateContent"
        url = f"{target.base_url}/v1beta/models/{target.model}:{action}"
        headers = {"x-goog-api-key": target.api_key, "Content-Type": "application/json"}
        return UpstreamRequest(url, headers, dumps(chat_body(body)))

    def chat_response(self, raw: bytes, created: int) -> ChatResult:
        return guarded_response(self._chat_response, raw, created)

    def _chat_response(self, raw: bytes, created: int) -> ChatResult:
        data = parse_json(raw)
        if not isinstance(data, dict) or not isinstance(data.get("candidates"), list):
            raise ValueError("upstream body is not a GenerateContentResponse")
        choices: list[Json] = []
        finish: list[str] = []
        for position, candidate in enumerate(data["candidates"]):
            text, calls = _candidate(candidate, 0)
            raw_finish = candidate.get("finishReason")
            if raw_finish:
                finish.append(str(raw_finish))
            index = int(candidate.get("index", position))
            choices.append(chat_choice(index, text, calls, front_finish(raw_finish, bool(calls))))
        usage = usage_from(data.get("usageMetadata")) or Usage()
        response_id = data.get("responseId")
        body = {"id": response_id or "chatcmpl-gemini", "object": "chat.completion", "created": created,
                "model": data.get("modelVersion"), "choices": choices, "usage": openai_usage(usage),
                "system_fingerprint": None}
        return ChatResult(dumps(body), response_id, data.get("modelVersion"), finish, usage, choices)

    def stream_translator(self, include_usage: bool, created: int) -> GeminiStream:
        return GeminiStream(ChunkMaker(created=created, include_usage=include_usage))

    def error(self, status: int, raw: bytes) -> UpstreamError:
        data = parse_json(raw)
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(data, list) and data and isinstance(data[0], dict):
            error = data[0].get("error")
        if isinstance(error, dict):
            message = error.get("message") if isinstance(error.get("message"), str) else None
            kind = error.get("status") or (str(error["code"]) if error.get("code") else None)
            return translated_error(status, kind, message)
        return translated_error(status, None, None)

    def semconv_finish_reason(self, raw: str) -> str:
        return semconv_finish(raw)


@dataclass(slots=True)
class GeminiStream:
    """``alt=sse`` frames (GEM-04) -> OpenAI chunks (OAI-06)."""

    maker: ChunkMaker
    state: StreamState = field(default_factory=StreamState)
    _started: set[int] = field(default_factory=set)
    _calls: dict[int, int] = field(default_factory=dict)

    def feed(self, event: SseEvent) -> list[OutChunk]:
        return guarded_feed(self.state, self._feed, event)

    def _feed(self, event: SseEvent) -> list[OutChunk]:
        if self.state.error is not None:
            return []
        data = parse_json(event.data)
        if not isinstance(data, dict):
            return []
        if isinstance(data.get("error"), dict):
            error = data["error"]
            kind = str(error.get("status") or error.get("code") or OTHER_ERROR)
            self.state.error = stream_error(kind, error.get("message") if isinstance(error.get("message"), str) else None)
            return [(parse_json(self.state.error.body), self.state.error.body)]
        self._record(data)
        out: list[OutChunk] = []
        for position, candidate in enumerate(data.get("candidates") or ()):
            out.extend(self._candidate(int(candidate.get("index", position)), candidate))
        return out

    def _record(self, data: Json) -> None:
        if data.get("responseId"):
            self.state.response_id = self.maker.response_id = str(data["responseId"])
        if data.get("modelVersion"):
            self.state.model = self.maker.model = str(data["modelVersion"])
        usage = usage_from(data.get("usageMetadata"))
        if usage is not None:
            self.state.usage = usage

    def _candidate(self, index: int, candidate: Json) -> list[OutChunk]:
        delta: Json = {}
        if index not in self._started:
            self._started.add(index)
            delta = {"role": "assistant", "content": ""}
        text, calls = _candidate(candidate, self._calls.get(index, 0))
        if text:
            delta["content"] = text
        if calls:
            first = self._calls.get(index, 0)
            self._calls[index] = first + len(calls)
            delta["tool_calls"] = [{"index": first + i, **call} for i, call in enumerate(calls)]
        out = [self.maker.delta(index, delta)] if delta else []
        raw = candidate.get("finishReason")
        if raw:
            self.state.finish_reasons[index] = str(raw)
            out.append(self.maker.delta(index, {}, front_finish(str(raw), index in self._calls)))
        return out

    def close(self) -> list[OutChunk]:
        if self.state.error is not None:
            return []
        finished = bool(self.state.finish_reasons) and self._started <= set(self.state.finish_reasons)
        if not finished:
            self.state.error = stream_error(OTHER_ERROR, "upstream stream ended without a finishReason")
            return [(parse_json(self.state.error.body), self.state.error.body)]
        self.state.done = True
        return self.maker.usage_chunk(self.state.usage)
