"""Anthropic ``POST /v1/messages`` and ``/v1/messages/count_tokens`` (pure; ANT-01..08).

The answer is a text block and, when a tool is called, a ``tool_use`` block after it. Usage keeps
cache tokens out of ``input_tokens`` (ANT-03). Stream, byte-compatible with the recorded fixtures:
``message_start`` (usage with the input tokens and ``output_tokens`` 1), then per block
``content_block_start``, (after the first one) ``ping``, ``content_block_delta``* (``text_delta``, or
``input_json_delta`` whose first fragment is ``""``), ``content_block_stop``; then
``message_delta`` with the stop reason and the cumulative ``output_tokens``; then ``message_stop``.
A mid-stream error is ``event: error`` with an ``overloaded_error`` body, then the close (ANT-08).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web

from fake_providers import canaries, canned, errors, finish
from fake_providers.context import BuildContext, Usage, canary_summary, usage_for
from fake_providers.sse import event_frame, ping_frame
from fake_providers.tokens import chunk_text, count_all
from fake_providers.validation import (
    InvalidRequest, array, boolean, integer, number, obj, optional_obj, require_object, string, string_list,
)  # fmt: skip
from fake_providers.wire import Frame, Provider, ResponsePlan, Summary, json_plan

ROLES: Final = frozenset({"user", "assistant"})
TOOL_CHOICES: Final = frozenset({"auto", "any", "tool", "none"})


@dataclass(frozen=True, slots=True)
class MessagesRequest:
    model: str
    stream: bool
    prompt: canned.Prompt


def _check_messages(messages: list[Any]) -> bool:
    """Validate the turns; return whether the last one carries a tool result."""
    last_is_result = False
    for i, message in enumerate(messages):
        message = obj(message, f"messages[{i}]")
        if not isinstance(message.get("role"), str) or message["role"] not in ROLES:
            raise InvalidRequest(f"messages.{i}.role: Input should be 'user' or 'assistant'", f"messages.{i}.role")
        content = message.get("content")
        if not isinstance(content, (str, list)):
            raise InvalidRequest(f"messages.{i}.content: Input should be a string or a list of blocks", f"messages.{i}.content")
        blocks = content if isinstance(content, list) else []
        for j, block in enumerate(blocks):
            string(obj(block, f"messages.{i}.content.{j}"), "type", required=True, path=f"messages.{i}.content.{j}.type")
        last_is_result = any(b.get("type") == "tool_result" for b in blocks)
    return last_is_result


def _system(value: Any) -> None:
    if value is None or isinstance(value, str):
        return
    if not isinstance(value, list):
        raise InvalidRequest("system: Input should be a string or a list of text blocks", "system")
    for i, block in enumerate(value):
        string(obj(block, f"system.{i}"), "text", required=True, path=f"system.{i}.text")


def _tools(raw: list[Any]) -> tuple[canned.ToolSpec, ...]:
    specs = []
    for i, tool in enumerate(raw):
        tool = obj(tool, f"tools.{i}")
        name = string(tool, "name", required=True, path=f"tools.{i}.name")
        schema = tool.get("input_schema")
        if schema is not None:
            obj(schema, f"tools.{i}.input_schema")
        specs.append(canned.ToolSpec(str(name), canned.string_property(schema)))
    return tuple(specs)


def _tool_choice(body: dict[str, Any]) -> tuple[canned.ToolMode, str | None]:
    choice = optional_obj(body, "tool_choice")
    if not choice:
        return "auto", None
    kind = string(choice, "type", required=True, path="tool_choice.type")
    if kind not in TOOL_CHOICES:
        raise InvalidRequest("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'", "tool_choice.type")
    if kind == "tool":
        return "required", string(choice, "name", required=True, path="tool_choice.name")
    return ("none" if kind == "none" else "required" if kind == "any" else "auto"), None


def parse(body: Any, request: web.Request, *, counting: bool = False) -> MessagesRequest:
    body = require_object(body)
    model = string(body, "model", required=True)
    max_tokens = integer(body, "max_tokens", minimum=1, required=not counting)
    messages = array(body, "messages", required=True, non_empty=True)
    after_result = _check_messages(messages)
    _system(body.get("system"))
    stop = string_list(body, "stop_sequences", max_items=64)
    number(body, "temperature", minimum=0, maximum=1)
    number(body, "top_p", minimum=0, maximum=1)
    integer(body, "top_k", minimum=0)
    optional_obj(body, "metadata")
    tools_raw = array(body, "tools")
    tools = _tools(tools_raw)
    mode, forced = _tool_choice(body)
    fields = {"system": body.get("system"), "messages": messages, "tools": tools_raw or None}
    assert model is not None
    prompt = canned.Prompt(
        endpoint="anthropic.messages", model=model, fields=fields, strings=tuple(canned.walk_strings(fields)),
        tools=tools, tool_mode=mode, forced_tool=forced, after_tool_result=after_result,
        max_tokens=max_tokens, stop=stop,
    )  # fmt: skip
    return MessagesRequest(model, boolean(body, "stream"), prompt)


def parse_count(body: Any, request: web.Request) -> MessagesRequest:
    return parse(body, request, counting=True)


def build_count(req: MessagesRequest, ctx: BuildContext) -> ResponsePlan:
    tokens = count_all(req.prompt.strings)
    return json_plan(200, {"input_tokens": tokens}, Summary(model=req.model))


def anthropic_usage(usage: Usage, output: int | None = None) -> dict[str, Any]:
    return {
        "input_tokens": usage.uncached_input,
        "cache_creation_input_tokens": usage.cache_creation,
        "cache_read_input_tokens": usage.cache_read,
        "output_tokens": usage.output if output is None else output,
        "service_tier": "standard",
    }


def _blocks(choice: canned.Choice) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [{"type": "text", "text": choice.text}]
    call = choice.tool_call
    if call is not None:
        blocks.append({"type": "tool_use", "id": "toolu_" + call.id[5:], "name": call.name,
                       "input": json.loads(call.arguments)})  # fmt: skip
    return blocks


def build(req: MessagesRequest, ctx: BuildContext) -> ResponsePlan:
    gen = canned.generate(req.prompt)
    choice = gen.choices[0]
    generated = choice.text_tokens + (choice.tool_call.tokens if choice.tool_call is not None else 0)
    usage = usage_for(gen.prompt_tokens, generated, ctx.rule)
    reason = finish.resolve(Provider.ANTHROPIC, choice.finish, ctx.rule.finish_reason)
    stop_sequence = choice.stop_sequence if reason == "stop_sequence" else None
    mid = "msg_" + ctx.request_id[4:28]
    summary = Summary(id=mid, model=req.model, finish_reasons=[reason], usage=usage.neutral(),
                      usage_raw=anthropic_usage(usage), canaries=canary_summary(gen))  # fmt: skip
    message = {"id": mid, "type": "message", "role": "assistant", "model": req.model, "content": _blocks(choice),
               "stop_reason": reason, "stop_sequence": stop_sequence, "usage": anthropic_usage(usage)}  # fmt: skip
    if not req.stream:
        plan = json_plan(200, message, summary)
        plan.usage_frames = frozenset({0})
        return plan
    return _stream(message, choice, usage, ctx, summary)


def _stream(message: dict[str, Any], choice: canned.Choice, usage: Usage, ctx: BuildContext, summary: Summary) -> ResponsePlan:
    frames: list[Frame] = []

    def emit(name: str, payload: dict[str, Any], *, content: bool = False) -> None:
        frames.append(event_frame(name, {"type": name, **payload}, content=content))

    start = {**message, "content": [], "stop_reason": None, "stop_sequence": None,
             "usage": anthropic_usage(usage, output=1)}  # fmt: skip
    emit("message_start", {"message": start})
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            emit("content_block_start", {"index": index, "content_block": {"type": "text", "text": ""}})
            if index == 0:
                frames.append(ping_frame())
            for piece in chunk_text(choice.text, ctx.tokens_per_chunk, choice.text_breaks):
                emit("content_block_delta", {"index": index, "delta": {"type": "text_delta", "text": piece}}, content=True)
        else:
            call = choice.tool_call
            assert call is not None
            emit("content_block_start", {"index": index, "content_block": {**block, "input": {}}})
            emit("content_block_delta", {"index": index, "delta": {"type": "input_json_delta", "partial_json": ""}})
            at = canaries.split_offset(call.arguments, call.canary)
            for piece in chunk_text(call.arguments, ctx.tokens_per_chunk, () if at is None else (at,)):
                delta = {"type": "input_json_delta", "partial_json": piece}
                emit("content_block_delta", {"index": index, "delta": delta}, content=True)
        emit("content_block_stop", {"index": index})
    delta = {"stop_reason": message["stop_reason"], "stop_sequence": message["stop_sequence"]}
    emit("message_delta", {"delta": delta, "usage": {"output_tokens": usage.output}})
    usage_at = len(frames) - 1
    emit("message_stop", {})
    err_type = ctx.rule.mid_stream_error.error_type if ctx.rule.mid_stream_error else None
    error = event_frame("error", errors.mid_stream_body(Provider.ANTHROPIC, err_type, ctx.error_message)).data
    return ResponsePlan(200, frames, stream=True, content_type="text/event-stream; charset=utf-8",
                        error_frame=error, usage_frames=frozenset({usage_at}), summary=summary)  # fmt: skip
