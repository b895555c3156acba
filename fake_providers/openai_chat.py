"""OpenAI ``POST /v1/chat/completions``: request validation and response plans (pure; OAI-02..07).

Stream shape per choice, choices one after the other: a role chunk (``{"role": "assistant",
"content": ""}``; for a tool call ``content: null`` and then a chunk opening the call with empty
``arguments``), the content chunks (text or argument fragments), then a chunk with ``delta: {}`` and
the finish reason. With ``stream_options.include_usage`` (or a ``usage_chunk: true`` behaviour)
every chunk has ``"usage": null`` and a usage-only chunk with ``"choices": []`` follows. Then
``data: [DONE]``. A mid-stream error is ``data: {"error": {...}}`` and the stream closes (OAI-07).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web

from fake_providers import canaries, canned, errors, finish
from fake_providers.context import BuildContext, Usage, canary_summary, usage_for
from fake_providers.sse import data_frame, done_frame
from fake_providers.tokens import chunk_text
from fake_providers.validation import (
    InvalidRequest, array, boolean, integer, number, obj, optional_obj, require_object, string, string_list,
)  # fmt: skip
from fake_providers.wire import Frame, Provider, ResponsePlan, Summary, json_plan

ROLES: Final = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
SERVICE_TIERS: Final = {"flex": "flex", "priority": "priority", "fast": "priority", "scale": "scale"}
FINGERPRINT: Final = "fp_fake0001"


@dataclass(frozen=True, slots=True)
class ChatRequest:
    model: str
    stream: bool
    include_usage: bool
    service_tier: str
    prompt: canned.Prompt


def parse_tools(tools: list[Any]) -> tuple[canned.ToolSpec, ...]:
    specs = []
    for i, tool in enumerate(tools):
        tool = obj(tool, f"tools[{i}]")
        if tool.get("type", "function") != "function":
            raise InvalidRequest(f"Invalid value for 'tools[{i}].type': expected 'function'.", f"tools[{i}].type")
        fn = obj(tool.get("function"), f"tools[{i}].function")
        name = string(fn, "name", required=True, path=f"tools[{i}].function.name")
        assert name is not None
        params = fn.get("parameters")
        if params is not None:
            obj(params, f"tools[{i}].function.parameters")
        specs.append(canned.ToolSpec(name, canned.string_property(params)))
    return tuple(specs)


def parse_tool_choice(value: Any) -> tuple[canned.ToolMode, str | None]:
    if value is None:
        return "auto", None
    if isinstance(value, str):
        if value not in ("none", "auto", "required"):
            raise InvalidRequest("Invalid value for 'tool_choice'.", "tool_choice")
        return value, None  # type: ignore[return-value]
    choice = obj(value, "tool_choice")
    if choice.get("type") == "function":
        fn = obj(choice.get("function"), "tool_choice.function")
        return "required", string(fn, "name", required=True, path="tool_choice.function.name")
    return "auto", None


def _check_messages(messages: list[Any]) -> None:
    for i, message in enumerate(messages):
        message = obj(message, f"messages[{i}]")
        if not isinstance(message.get("role"), str) or message["role"] not in ROLES:
            raise InvalidRequest(f"Invalid value for 'messages[{i}].role'.", f"messages[{i}].role")
        content = message.get("content")
        if content is not None and not isinstance(content, (str, list)):
            raise InvalidRequest(f"Invalid type for 'messages[{i}].content'.", f"messages[{i}].content")
        for j, part in enumerate(content if isinstance(content, list) else []):
            obj(part, f"messages[{i}].content[{j}]")


def parse(body: Any, request: web.Request) -> ChatRequest:
    body = require_object(body)
    model = string(body, "model", required=True)
    messages = array(body, "messages", required=True, non_empty=True)
    _check_messages(messages)
    stream = boolean(body, "stream")
    options = optional_obj(body, "stream_options")
    include_usage = boolean(options, "include_usage", path="stream_options.include_usage")
    max_tokens = integer(body, "max_completion_tokens", minimum=1)
    legacy_max = integer(body, "max_tokens", minimum=1)
    n = integer(body, "n", minimum=1, maximum=128) or 1
    number(body, "temperature", minimum=0, maximum=2)
    number(body, "top_p", minimum=0, maximum=1)
    for key in ("presence_penalty", "frequency_penalty"):
        number(body, key, minimum=-2, maximum=2)
    seed = integer(body, "seed")
    tools_raw = array(body, "tools")
    tools = parse_tools(tools_raw)
    mode, forced = parse_tool_choice(body.get("tool_choice"))
    tier = string(body, "service_tier") or "default"
    assert model is not None
    fields = {"messages": messages, "tools": tools_raw or None}
    prompt = canned.Prompt(
        endpoint="openai.chat", model=model, fields=fields, strings=tuple(canned.walk_strings(fields)), seed=seed,
        tools=tools, tool_mode=mode, forced_tool=forced, choices=n,
        after_tool_result=messages[-1].get("role") in ("tool", "function"),
        max_tokens=max_tokens if max_tokens is not None else legacy_max,
        stop=string_list(body, "stop", max_items=4),
    )  # fmt: skip
    return ChatRequest(model, stream, include_usage, SERVICE_TIERS.get(tier, "default"), prompt)


def openai_usage(usage: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.prompt,
        "completion_tokens": usage.output,
        "total_tokens": usage.prompt + usage.output,
        "prompt_tokens_details": {"cached_tokens": usage.cache_read, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": usage.reasoning, "audio_tokens": 0,
            "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0,
        },  # fmt: skip
    }


def _generated(choice: canned.Choice) -> int:
    return choice.tool_call.tokens if choice.tool_call is not None else choice.text_tokens


def build(req: ChatRequest, ctx: BuildContext) -> ResponsePlan:
    gen = canned.generate(req.prompt)
    usage = usage_for(gen.prompt_tokens, sum(_generated(c) for c in gen.choices), ctx.rule)
    reasons = [finish.resolve(Provider.OPENAI, c.finish, ctx.rule.finish_reason) for c in gen.choices]
    rid = "chatcmpl-" + ctx.request_id[4:28]
    summary = Summary(
        id=rid, model=req.model, finish_reasons=reasons, usage=usage.neutral(), usage_raw=openai_usage(usage),
        canaries=canary_summary(gen),
    )  # fmt: skip
    head = {"id": rid, "created": ctx.created, "model": req.model, "service_tier": req.service_tier,
            "system_fingerprint": FINGERPRINT}  # fmt: skip
    if not req.stream:
        body = {**head, "object": "chat.completion", "choices": [
            {"index": c.index, "message": _message(c), "logprobs": None, "finish_reason": r}
            for c, r in zip(gen.choices, reasons)
        ], "usage": openai_usage(usage)}  # fmt: skip
        plan = json_plan(200, body, summary)
        plan.usage_frames = frozenset({0})
        return plan
    with_usage = ctx.rule.usage_chunk if ctx.rule.usage_chunk is not None else req.include_usage
    return _stream_plan(gen, reasons, usage, {**head, "object": "chat.completion.chunk"}, with_usage, ctx, summary)


def _message(choice: canned.Choice) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": choice.text, "refusal": None, "annotations": []}
    call = choice.tool_call
    if call is not None:
        message["content"] = None
        message["tool_calls"] = [
            {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
        ]
    return message


def _stream_plan(
    gen: canned.Generation, reasons: list[str], usage: Usage, head: dict[str, Any], with_usage: bool,
    ctx: BuildContext, summary: Summary,
) -> ResponsePlan:  # fmt: skip
    def chunk(index: int, delta: dict[str, Any], reason: str | None = None, *, content: bool = False) -> Frame:
        payload = {**head, "choices": [{"index": index, "delta": delta, "logprobs": None, "finish_reason": reason}]}
        return data_frame({**payload, "usage": None} if with_usage else payload, content=content)

    frames: list[Frame] = []
    for choice, reason in zip(gen.choices, reasons):
        call = choice.tool_call
        if call is None:
            frames.append(chunk(choice.index, {"role": "assistant", "content": "", "refusal": None}))
            for piece in chunk_text(choice.text, ctx.tokens_per_chunk, choice.text_breaks):
                frames.append(chunk(choice.index, {"content": piece}, content=True))
        else:
            frames.append(chunk(choice.index, {"role": "assistant", "content": None, "refusal": None}))
            opening = {"index": 0, "id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}
            frames.append(chunk(choice.index, {"tool_calls": [opening]}))
            at = canaries.split_offset(call.arguments, call.canary)
            for piece in chunk_text(call.arguments, ctx.tokens_per_chunk, () if at is None else (at,)):
                frames.append(chunk(choice.index, {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}, content=True))
        frames.append(chunk(choice.index, {}, reason))
    usage_frames = frozenset()
    if with_usage:
        usage_frames = frozenset({len(frames)})
        frames.append(data_frame({**head, "choices": [], "usage": openai_usage(usage)}))
    frames.append(done_frame())
    err_type = ctx.rule.mid_stream_error.error_type if ctx.rule.mid_stream_error else None
    error = data_frame(errors.mid_stream_body(Provider.OPENAI, err_type, ctx.error_message)).data
    return ResponsePlan(200, frames, stream=True, content_type="text/event-stream; charset=utf-8",
                        error_frame=error, usage_frames=usage_frames, summary=summary)  # fmt: skip
