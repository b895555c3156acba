"""Gemini ``POST /v1beta/models/{model}:generateContent`` and ``:streamGenerateContent`` (pure; GEM-01..05).

With ``alt=sse`` each frame is ``data: <GenerateContentResponse>`` and a blank line, with no event
names and no ``[DONE]``: per candidate, its text fragments (a function call goes whole in one
frame), then a frame with an empty text part and ``finishReason``; the last frame also carries
``usageMetadata`` (unless a ``usage_chunk: false`` behaviour drops it). Without ``alt=sse`` the body
is one JSON array of the same responses. ``:countTokens`` answers ``{"totalTokens"}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final, Literal

from aiohttp import web

from fake_providers import canned, errors, finish
from fake_providers.context import BuildContext, Usage, canary_summary, usage_for
from fake_providers.sse import data_frame
from fake_providers.tokens import chunk_text, count_all
from fake_providers.validation import (
    InvalidRequest, array, integer, number, obj, optional_obj, require_object, string, string_list,
)  # fmt: skip
from fake_providers.wire import Provider, ResponsePlan, Summary, json_plan

Mode = Literal["generate", "stream_sse", "stream_json", "count"]
METHODS: Final[dict[str, Mode]] = {
    "generateContent": "generate", "streamGenerateContent": "stream_sse", "countTokens": "count",
}  # fmt: skip
ROLES: Final = frozenset({"user", "model", "function"})
CALL_MODES: Final = frozenset({"AUTO", "ANY", "NONE", "VALIDATED", "MODE_UNSPECIFIED"})


@dataclass(frozen=True, slots=True)
class GeminiRequest:
    model: str
    mode: Mode
    prompt: canned.Prompt

    @property
    def stream(self) -> bool:
        return self.mode == "stream_sse"


def _target(request: web.Request) -> tuple[str, Mode]:
    name = request.match_info.get("name", "")
    model, _, method = name.rpartition(":")
    if not model or method not in METHODS:
        raise InvalidRequest(f"Method not found: models/{name}.", status=404)
    mode = METHODS[method]
    if mode == "stream_sse" and request.query.get("alt") != "sse":
        mode = "stream_json"
    return model, mode


def _contents(value: list[Any]) -> bool:
    """Validate ``contents``; return whether the last turn carries a function response."""
    last = False
    for i, content in enumerate(value):
        content = obj(content, f"contents[{i}]")
        role = content.get("role")
        if role is not None and (not isinstance(role, str) or role not in ROLES):
            raise InvalidRequest(f"Please use a valid role: user, model (contents[{i}].role).", f"contents[{i}].role")
        parts = content.get("parts")
        if not isinstance(parts, list) or not parts:
            raise InvalidRequest(f"contents[{i}].parts must be a non-empty array.", f"contents[{i}].parts")
        last = any("functionResponse" in obj(p, f"contents[{i}].parts[{j}]") for j, p in enumerate(parts))
    return last


def _tools(raw: list[Any]) -> tuple[canned.ToolSpec, ...]:
    specs = []
    for i, tool in enumerate(raw):
        tool = obj(tool, f"tools[{i}]")
        for j, decl in enumerate(array(tool, "functionDeclarations")):
            decl = obj(decl, f"tools[{i}].functionDeclarations[{j}]")
            name = string(decl, "name", required=True, path=f"tools[{i}].functionDeclarations[{j}].name")
            specs.append(canned.ToolSpec(str(name), canned.string_property(decl.get("parameters"))))
    return tuple(specs)


def _tool_mode(body: dict[str, Any]) -> tuple[canned.ToolMode, str | None]:
    config = optional_obj(optional_obj(body, "toolConfig"), "functionCallingConfig")
    mode = string(config, "mode", path="toolConfig.functionCallingConfig.mode") or "AUTO"
    if mode not in CALL_MODES:
        raise InvalidRequest("Invalid value for toolConfig.functionCallingConfig.mode.", "toolConfig")
    allowed = string_list(config, "allowedFunctionNames", path="toolConfig.functionCallingConfig.allowedFunctionNames")
    if mode == "NONE":
        return "none", None
    if mode == "ANY":
        return "required", allowed[0] if len(allowed) == 1 else None
    return "auto", None


def parse(body: Any, request: web.Request) -> GeminiRequest:
    model, mode = _target(request)
    body = require_object(body)
    contents = array(body, "contents", required=True, non_empty=True)
    after_result = _contents(contents)
    system = body.get("systemInstruction", body.get("system_instruction"))
    if system is not None:
        array(obj(system, "systemInstruction"), "parts")
    config = optional_obj(body, "generationConfig")
    max_tokens = integer(config, "maxOutputTokens", minimum=1, path="generationConfig.maxOutputTokens")
    candidates = integer(config, "candidateCount", minimum=1, maximum=8, path="generationConfig.candidateCount")
    number(config, "temperature", minimum=0, maximum=2, path="generationConfig.temperature")
    number(config, "topP", minimum=0, maximum=1, path="generationConfig.topP")
    stop = string_list(config, "stopSequences", max_items=5, path="generationConfig.stopSequences")
    tools_raw = array(body, "tools")
    tools = _tools(tools_raw)
    tool_mode, forced = _tool_mode(body)
    fields = {"systemInstruction": system, "contents": contents, "tools": tools_raw or None}
    prompt = canned.Prompt(
        endpoint="gemini.generateContent", model=model, fields=fields, strings=tuple(canned.walk_strings(fields)),
        tools=tools, tool_mode=tool_mode, forced_tool=forced, after_tool_result=after_result,
        choices=candidates or 1, max_tokens=max_tokens, stop=stop,
    )  # fmt: skip
    return GeminiRequest(model, mode, prompt)


def gemini_usage(usage: Usage) -> dict[str, Any]:
    meta = {
        "promptTokenCount": usage.prompt,
        "candidatesTokenCount": usage.output - usage.reasoning,
        "totalTokenCount": usage.prompt + usage.output,
    }
    if usage.cache_read:
        meta["cachedContentTokenCount"] = usage.cache_read
    if usage.reasoning:
        meta["thoughtsTokenCount"] = usage.reasoning
    return meta


def _parts(choice: canned.Choice) -> list[dict[str, Any]]:
    call = choice.tool_call
    if call is not None:
        return [{"functionCall": {"name": call.name, "args": json.loads(call.arguments)}}]
    return [{"text": choice.text}]


def build(req: GeminiRequest, ctx: BuildContext) -> ResponsePlan:
    if req.mode == "count":
        return json_plan(200, {"totalTokens": count_all(req.prompt.strings)}, Summary(model=req.model))
    gen = canned.generate(req.prompt)
    generated = sum(c.tool_call.tokens if c.tool_call else c.text_tokens for c in gen.choices)
    usage = usage_for(gen.prompt_tokens, generated, ctx.rule)
    reasons = [finish.resolve(Provider.GEMINI, c.finish, ctx.rule.finish_reason) for c in gen.choices]
    head = {"modelVersion": req.model, "responseId": ctx.request_id[4:]}
    summary = Summary(id=head["responseId"], model=req.model, finish_reasons=reasons, usage=usage.neutral(),
                      usage_raw=gemini_usage(usage), canaries=canary_summary(gen))  # fmt: skip
    with_usage = ctx.rule.usage_chunk is not False
    if req.mode == "generate":
        candidates = [
            {"content": {"role": "model", "parts": _parts(c)}, "finishReason": r, "index": c.index}
            for c, r in zip(gen.choices, reasons)
        ]
        plan = json_plan(200, {"candidates": candidates, "usageMetadata": gemini_usage(usage), **head}, summary)
        plan.usage_frames = frozenset({0})
        return plan
    payloads, usage_at = _stream_payloads(gen, reasons, usage, head, ctx, with_usage)
    if req.mode == "stream_json":
        plan = json_plan(200, [p for p, _ in payloads], summary)
        plan.usage_frames = frozenset({0}) if with_usage else frozenset()
        return plan
    frames = [data_frame(p, content=content) for p, content in payloads]
    err_type = ctx.rule.mid_stream_error.error_type if ctx.rule.mid_stream_error else None
    error = data_frame(errors.mid_stream_body(Provider.GEMINI, err_type, ctx.error_message)).data
    return ResponsePlan(200, frames, stream=True, content_type="text/event-stream; charset=utf-8",
                        error_frame=error, usage_frames=usage_at, summary=summary)  # fmt: skip


def _stream_payloads(
    gen: canned.Generation, reasons: list[str], usage: Usage, head: dict[str, Any], ctx: BuildContext,
    with_usage: bool,
) -> tuple[list[tuple[dict[str, Any], bool]], frozenset[int]]:  # fmt: skip
    out: list[tuple[dict[str, Any], bool]] = []

    def frame(index: int, parts: list[dict[str, Any]], reason: str | None = None) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": index}
        if reason is not None:
            candidate["finishReason"] = reason
        return {"candidates": [candidate], **head}

    for choice, reason in zip(gen.choices, reasons):
        if choice.tool_call is not None:
            out.append((frame(choice.index, _parts(choice)), True))
        else:
            for piece in chunk_text(choice.text, ctx.tokens_per_chunk, choice.text_breaks):
                out.append((frame(choice.index, [{"text": piece}]), True))
        out.append((frame(choice.index, [{"text": ""}], reason), False))
    if not with_usage:
        return out, frozenset()
    out[-1][0]["usageMetadata"] = gemini_usage(usage)
    return out, frozenset({len(out) - 1})


def parse_list(body: Any, request: web.Request) -> GeminiRequest:
    prompt = canned.Prompt(endpoint="gemini.models", model="", fields={}, strings=())
    return GeminiRequest("", "generate", prompt)


def build_list(req: GeminiRequest, ctx: BuildContext) -> ResponsePlan:
    models = [{"name": f"models/{m}", "displayName": m, "supportedGenerationMethods": sorted(METHODS)}
              for m in ctx.settings.models]  # fmt: skip
    return json_plan(200, {"models": models}, Summary())
