"""OpenAI ``POST /v1/responses``: the Responses API, plain and as named events (pure; OAI-12).

Stream: ``response.created``, ``response.in_progress``, then per output item
``response.output_item.added``, for a message ``response.content_part.added``,
``response.output_text.delta``*, ``response.output_text.done``, ``response.content_part.done``
(for a function call ``response.function_call_arguments.delta``* and ``.done``),
``response.output_item.done``; then ``response.completed``, or ``response.incomplete`` when
``max_output_tokens`` cut the text. Every payload has ``type`` and ``sequence_number``; there is no
``[DONE]``. A mid-stream error is a ``response.failed`` event carrying ``error``, then the close.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from fake_providers import canaries, canned, finish
from fake_providers.context import BuildContext, Usage, canary_summary, usage_for
from fake_providers.sse import event_frame
from fake_providers.tokens import chunk_text
from fake_providers.validation import (
    InvalidRequest, array, boolean, integer, number, obj, require_object, string,
)  # fmt: skip
from fake_providers.wire import Frame, Provider, ResponsePlan, Summary, json_plan


@dataclass(frozen=True, slots=True)
class ResponsesRequest:
    model: str
    stream: bool
    instructions: str | None
    max_output_tokens: int | None
    tools: list[dict[str, Any]]
    tool_choice: Any
    prompt: canned.Prompt


def _tools(raw: list[Any]) -> tuple[list[dict[str, Any]], tuple[canned.ToolSpec, ...]]:
    echoed, specs = [], []
    for i, tool in enumerate(raw):
        tool = obj(tool, f"tools[{i}]")
        if tool.get("type") != "function":
            raise InvalidRequest(f"The fake supports only function tools ('tools[{i}].type').", f"tools[{i}].type")
        name = string(tool, "name", required=True, path=f"tools[{i}].name")
        params = tool.get("parameters")
        if params is not None:
            obj(params, f"tools[{i}].parameters")
        description = string(tool, "description", path=f"tools[{i}].description")
        strict = boolean(tool, "strict", path=f"tools[{i}].strict")
        echoed.append({"type": "function", "name": name, "description": description,
                       "parameters": params or {}, "strict": strict})  # fmt: skip
        specs.append(canned.ToolSpec(str(name), canned.string_property(params)))
    return echoed, tuple(specs)


def _tool_choice(value: Any) -> tuple[Any, canned.ToolMode, str | None]:
    if value is None:
        return "auto", "auto", None
    if value in ("none", "auto", "required"):
        return value, value, None
    choice = obj(value, "tool_choice")
    if choice.get("type") == "function":
        name = string(choice, "name", required=True, path="tool_choice.name")
        return {"type": "function", "name": name}, "required", name
    raise InvalidRequest("Invalid value for 'tool_choice'.", "tool_choice")


def parse(body: Any, request: web.Request) -> ResponsesRequest:
    body = require_object(body)
    model = string(body, "model", required=True)
    items = body.get("input")
    if items is None:
        raise InvalidRequest("Missing required parameter: 'input'.", "input")
    if not isinstance(items, (str, list)) or (isinstance(items, list) and not items):
        raise InvalidRequest("'input' must be a string or a non-empty array of items.", "input")
    for i, item in enumerate(items if isinstance(items, list) else []):
        obj(item, f"input[{i}]")
    instructions = string(body, "instructions")
    max_output = integer(body, "max_output_tokens", minimum=1)
    number(body, "temperature", minimum=0, maximum=2)
    number(body, "top_p", minimum=0, maximum=1)
    echoed, specs = _tools(array(body, "tools"))
    choice, mode, forced = _tool_choice(body.get("tool_choice"))
    last = items[-1] if isinstance(items, list) else {}
    fields = {"instructions": instructions, "input": items, "tools": body.get("tools") or None}
    assert model is not None
    prompt = canned.Prompt(
        endpoint="openai.responses", model=model, fields=fields, strings=tuple(canned.walk_strings(fields)),
        tools=specs, tool_mode=mode, forced_tool=forced, max_tokens=max_output,
        after_tool_result=last.get("type") == "function_call_output",
    )  # fmt: skip
    return ResponsesRequest(model, boolean(body, "stream"), instructions, max_output, echoed, choice, prompt)


def responses_usage(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.prompt,
        "input_tokens_details": {"cached_tokens": usage.cache_read, "cache_write_tokens": usage.cache_creation},
        "output_tokens": usage.output,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning},
        "total_tokens": usage.prompt + usage.output,
    }


@dataclass(slots=True)
class _Shape:
    req: ResponsesRequest
    rid: str
    created: int
    status: str
    incomplete: dict[str, Any] | None
    usage: dict[str, Any]

    def response(self, status: str, output: list[Any], *, final: bool, error: Any = None) -> dict[str, Any]:
        return {
            "id": self.rid, "object": "response", "created_at": self.created, "status": status, "error": error,
            "incomplete_details": self.incomplete if final else None, "instructions": self.req.instructions,
            "max_output_tokens": self.req.max_output_tokens, "model": self.req.model, "output": output,
            "parallel_tool_calls": True, "temperature": 1.0, "top_p": 1.0, "text": {"format": {"type": "text"}},
            "tool_choice": self.req.tool_choice, "tools": self.req.tools, "metadata": {},
            "usage": self.usage if final else None,
        }  # fmt: skip


def _outcome(choice: canned.Choice, forced: str | None) -> tuple[str, dict[str, Any] | None, str]:
    neutral = finish.neutral(finish.resolve(Provider.OPENAI, choice.finish, forced))
    if neutral == "length":
        return "incomplete", {"reason": "max_output_tokens"}, neutral
    if neutral == "content_filter":
        return "incomplete", {"reason": "content_filter"}, neutral
    return "completed", None, neutral


def _item(choice: canned.Choice, rid: str, status: str) -> dict[str, Any]:
    call = choice.tool_call
    if call is not None:
        return {"id": "fc_" + rid[5:], "type": "function_call", "call_id": call.id, "name": call.name,
                "arguments": call.arguments, "status": status}  # fmt: skip
    part = {"type": "output_text", "text": choice.text, "annotations": [], "logprobs": []}
    return {"id": "msg_" + rid[5:], "type": "message", "role": "assistant", "status": status, "content": [part]}


def build(req: ResponsesRequest, ctx: BuildContext) -> ResponsePlan:
    gen = canned.generate(req.prompt)
    choice = gen.choices[0]
    tokens = choice.tool_call.tokens if choice.tool_call is not None else choice.text_tokens
    usage = usage_for(gen.prompt_tokens, tokens, ctx.rule)
    status, incomplete, reason = _outcome(choice, ctx.rule.finish_reason)
    rid = "resp_" + ctx.request_id[4:28]
    shape = _Shape(req, rid, ctx.created, status, incomplete, responses_usage(usage))
    summary = Summary(id=rid, model=req.model, finish_reasons=[reason], usage=usage.neutral(),
                      usage_raw=shape.usage, canaries=canary_summary(gen))  # fmt: skip
    item_status = "completed" if status == "completed" else "incomplete"
    if not req.stream:
        plan = json_plan(200, shape.response(status, [_item(choice, rid, item_status)], final=True), summary)
        plan.usage_frames = frozenset({0})
        return plan
    return _stream(shape, choice, item_status, ctx, summary)


def _stream(shape: _Shape, choice: canned.Choice, item_status: str, ctx: BuildContext, summary: Summary) -> ResponsePlan:
    frames: list[Frame] = []

    def emit(name: str, payload: dict[str, Any], *, content: bool = False) -> None:
        frames.append(event_frame(name, {"type": name, "sequence_number": len(frames), **payload}, content=content))

    emit("response.created", {"response": shape.response("in_progress", [], final=False)})
    emit("response.in_progress", {"response": shape.response("in_progress", [], final=False)})
    done_item = _item(choice, shape.rid, item_status)
    item_id = done_item["id"]
    where = {"item_id": item_id, "output_index": 0}
    call = choice.tool_call
    if call is not None:
        emit("response.output_item.added", {"output_index": 0, "item": {**done_item, "arguments": "", "status": "in_progress"}})
        at = canaries.split_offset(call.arguments, call.canary)
        for piece in chunk_text(call.arguments, ctx.tokens_per_chunk, () if at is None else (at,)):
            emit("response.function_call_arguments.delta", {**where, "delta": piece}, content=True)
        emit("response.function_call_arguments.done", {**where, "arguments": call.arguments, "name": call.name})
    else:
        emit("response.output_item.added", {"output_index": 0, "item": {**done_item, "status": "in_progress", "content": []}})
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        emit("response.content_part.added", {**where, "content_index": 0, "part": part})
        for piece in chunk_text(choice.text, ctx.tokens_per_chunk, choice.text_breaks):
            emit("response.output_text.delta", {**where, "content_index": 0, "delta": piece, "logprobs": []}, content=True)
        emit("response.output_text.done", {**where, "content_index": 0, "text": choice.text, "logprobs": []})
        emit("response.content_part.done", {**where, "content_index": 0, "part": {**part, "text": choice.text}})
    emit("response.output_item.done", {"output_index": 0, "item": done_item})
    final = "response.completed" if shape.status == "completed" else "response.incomplete"
    emit(final, {"response": shape.response(shape.status, [done_item], final=True)})
    code = ctx.rule.mid_stream_error.error_type if ctx.rule.mid_stream_error else None
    error = {"code": code or "server_error", "message": ctx.error_message}
    failed = shape.response("failed", [], final=False, error=error)
    error_frame = event_frame("response.failed", {"type": "response.failed", "sequence_number": len(frames), "response": failed})
    return ResponsePlan(200, frames, stream=True, content_type="text/event-stream; charset=utf-8",
                        error_frame=error_frame.data, usage_frames=frozenset({len(frames) - 1}), summary=summary)  # fmt: skip
