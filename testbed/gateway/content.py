"""OpenAI-format chat content -> GenAI semantic-convention JSON shapes (SPEC 2.5), pure.

- ``input_messages``: ``[{role, parts[], name?}]`` in the order the client sent them
- ``system_instructions``: the parts of the system/developer messages, for providers that take
  them apart from the chat history (Anthropic ``system``, Gemini ``systemInstruction``)
- ``tool_definitions``: ``[{type: "function", name, description?, parameters?}]``
- ``output_messages``: one ``{role, parts[], finish_reason}`` per choice, finish reasons mapped
  per SEM-21

:class:`StreamAccumulator` rebuilds the OpenAI choices from stream chunks, so a streamed
response yields the same output messages as a non-streamed one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]


def _arguments(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def _content_parts(content: Any) -> list[Json]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    parts: list[Json] = []
    for part in content if isinstance(content, list) else ():
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind == "text":
            parts.append({"type": "text", "content": str(part.get("text", ""))})
        elif kind == "image_url":
            url = str((part.get("image_url") or {}).get("url", ""))
            parts.append({"type": "uri", "modality": "image", "uri": url})
        elif kind == "input_audio":
            audio = part.get("input_audio") or {}
            parts.append({"type": "blob", "modality": "audio", "content": str(audio.get("data", ""))})
        else:
            parts.append({"type": str(kind or "generic"), **{k: v for k, v in part.items() if k != "type"}})
    return parts


def _tool_call_parts(calls: Any) -> list[Json]:
    parts: list[Json] = []
    for call in calls if isinstance(calls, list) else ():
        if not isinstance(call, dict):
            continue
        function = call.get("function") or {}
        part: Json = {"type": "tool_call", "name": str(function.get("name", ""))}
        if call.get("id"):
            part["id"] = str(call["id"])
        if function.get("arguments") is not None:
            part["arguments"] = _arguments(function.get("arguments"))
        parts.append(part)
    return parts


def _message(msg: Json) -> Json:
    role = str(msg.get("role", "user"))
    if role == "tool":
        part: Json = {"type": "tool_call_response", "response": msg.get("content")}
        if msg.get("tool_call_id"):
            part["id"] = str(msg["tool_call_id"])
        return {"role": "tool", "parts": [part]}
    out: Json = {"role": role, "parts": _content_parts(msg.get("content")) + _tool_call_parts(msg.get("tool_calls"))}
    if isinstance(msg.get("name"), str):
        out["name"] = msg["name"]
    return out


def input_content(messages: Any, separate_system: bool) -> tuple[list[Json] | None, list[Json]]:
    """(system instructions or None, input messages)."""
    system: list[Json] = []
    out: list[Json] = []
    for msg in messages if isinstance(messages, list) else ():
        if not isinstance(msg, dict):
            continue
        if separate_system and msg.get("role") in ("system", "developer"):
            system.extend(_content_parts(msg.get("content")))
        else:
            out.append(_message(msg))
    return (system or None), out


def tool_definitions(tools: Any) -> list[Json] | None:
    out: list[Json] = []
    for tool in tools if isinstance(tools, list) else ():
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict):
            continue
        item: Json = {"type": "function", "name": str(function.get("name", ""))}
        if function.get("description") is not None:
            item["description"] = function["description"]
        if function.get("parameters") is not None:
            item["parameters"] = function["parameters"]
        out.append(item)
    return out or None


def output_messages(choices: list[Json], raw_finish: list[str], to_semconv: Callable[[str], str]) -> list[Json]:
    """One output message per choice; ``raw_finish[i]`` is the provider's reason for choice i."""
    out: list[Json] = []
    for position, choice in enumerate(sorted(choices, key=lambda c: int(c.get("index", 0)))):
        message = choice.get("message") or {}
        parts = _content_parts(message.get("content")) + _tool_call_parts(message.get("tool_calls"))
        if position < len(raw_finish):
            finish = to_semconv(raw_finish[position])
        else:
            finish = "error" if choice.get("finish_reason") is None else str(choice["finish_reason"])
        out.append({"role": "assistant", "parts": parts, "finish_reason": finish})
    return out


@dataclass(slots=True)
class _Choice:
    text: list[str] = field(default_factory=list)
    calls: dict[int, Json] = field(default_factory=dict)
    finish_reason: str | None = None


@dataclass(slots=True)
class StreamAccumulator:
    """Rebuilds OpenAI ``choices`` from ``chat.completion.chunk`` payloads."""

    _choices: dict[int, _Choice] = field(default_factory=dict)

    def feed(self, chunk: Json) -> None:
        for item in chunk.get("choices") or ():
            if not isinstance(item, dict):
                continue
            choice = self._choices.setdefault(int(item.get("index", 0)), _Choice())
            delta = item.get("delta") or {}
            if isinstance(delta.get("content"), str):
                choice.text.append(delta["content"])
            for call in delta.get("tool_calls") or ():
                self._call(choice, call)
            if item.get("finish_reason") is not None:
                choice.finish_reason = str(item["finish_reason"])

    @staticmethod
    def _call(choice: _Choice, call: Json) -> None:
        slot = choice.calls.setdefault(int(call.get("index", 0)), {"id": None, "name": "", "arguments": []})
        function = call.get("function") or {}
        if call.get("id"):
            slot["id"] = call["id"]
        if function.get("name"):
            slot["name"] = function["name"]
        if isinstance(function.get("arguments"), str):
            slot["arguments"].append(function["arguments"])

    def choices(self) -> list[Json]:
        out: list[Json] = []
        for index in sorted(self._choices):
            choice = self._choices[index]
            calls = [{"id": c["id"], "type": "function",
                      "function": {"name": c["name"], "arguments": "".join(c["arguments"])}}
                     for _, c in sorted(choice.calls.items())]
            message: Json = {"role": "assistant", "content": "".join(choice.text) or None}
            if calls:
                message["tool_calls"] = calls
            out.append({"index": index, "message": message, "finish_reason": choice.finish_reason})
        return out
