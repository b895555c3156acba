"""Type checks of an OpenAI chat or embeddings body before any adapter translates it (pure).

A wrong type is the client's error: it gets a 400 naming the field (OAI-08 ``param``), never a
failure inside a provider adapter (which would be a 500 and an ERROR SERVER span, GW-01). The
checks cover every field an adapter reads; fields no adapter reads are passed through untouched.
"""

from __future__ import annotations

import math
from typing import Any

from testbed.gateway.front import FrontError

Json = dict[str, Any]
_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


def _bad(param: str, expected: str) -> FrontError:
    return FrontError(400, f"Invalid type for '{param}': expected {expected}.", "invalid_request_error",
                      "invalid_type", param)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


def _optional(body: Json, key: str, test: Any, expected: str, path: str = "") -> None:
    if body.get(key) is not None and not test(body[key]):
        raise _bad(f"{path}{key}", expected)


def _content(value: Any, path: str) -> None:
    if value is None or isinstance(value, str):
        return
    if not isinstance(value, list):
        raise _bad(path, "a string or an array of content parts")
    for j, part in enumerate(value):
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            raise _bad(f"{path}[{j}]", "an object with a string 'type'")
        _optional(part, "text", lambda v: isinstance(v, str), "a string", f"{path}[{j}].")
        for key in ("image_url", "input_audio"):
            _optional(part, key, lambda v: isinstance(v, dict), "an object", f"{path}[{j}].")
        for key, sub in (("image_url", "url"), ("input_audio", "data")):
            if isinstance(part.get(key), dict):
                _optional(part[key], sub, lambda v: isinstance(v, str), "a string", f"{path}[{j}].{key}.")


def _tool_calls(value: Any, path: str) -> None:
    if value is None:
        return
    if not isinstance(value, list):
        raise _bad(path, "an array")
    for j, call in enumerate(value):
        where = f"{path}[{j}]"
        if not isinstance(call, dict) or not isinstance(call.get("function"), dict):
            raise _bad(where, "an object with a 'function' object")
        _optional(call, "id", lambda v: isinstance(v, str), "a string", f"{where}.")
        _optional(call["function"], "name", lambda v: isinstance(v, str), "a string", f"{where}.function.")
        _optional(call["function"], "arguments", lambda v: isinstance(v, str), "a string", f"{where}.function.")


def _message(msg: Any, i: int) -> None:
    path = f"messages[{i}]"
    if not isinstance(msg, dict):
        raise _bad(path, "an object")
    if not isinstance(msg.get("role"), str) or msg["role"] not in _ROLES:
        raise FrontError(400, f"Invalid value for '{path}.role'.", "invalid_request_error", "invalid_value",
                         f"{path}.role")
    _content(msg.get("content"), f"{path}.content")
    for key in ("name", "tool_call_id"):
        _optional(msg, key, lambda v: isinstance(v, str), "a string", f"{path}.")
    _tool_calls(msg.get("tool_calls"), f"{path}.tool_calls")


def _tools(value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, list):
        raise _bad("tools", "an array")
    for j, tool in enumerate(value):
        if not isinstance(tool, dict) or not isinstance(tool.get("function"), dict):
            raise _bad(f"tools[{j}]", "an object with a 'function' object")
        function = tool["function"]
        _optional(function, "name", lambda v: isinstance(v, str), "a string", f"tools[{j}].function.")
        _optional(function, "description", lambda v: isinstance(v, str), "a string", f"tools[{j}].function.")
        _optional(function, "parameters", lambda v: isinstance(v, dict), "an object", f"tools[{j}].function.")


def _tool_choice(value: Any) -> None:
    if value is None or isinstance(value, str):
        return
    if not isinstance(value, dict):
        raise _bad("tool_choice", "a string or an object")
    _optional(value, "function", lambda v: isinstance(v, dict), "an object", "tool_choice.")
    if isinstance(value.get("function"), dict):
        _optional(value["function"], "name", lambda v: isinstance(v, str), "a string", "tool_choice.function.")


def _is_stop(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, list) and all(isinstance(s, str) for s in value))


def check_chat(body: Json) -> None:
    """FrontError 400 for the first field of the wrong type or value."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise FrontError(400, "'messages' must be a non-empty array of objects.", "invalid_request_error",
                         None, "messages")
    for i, msg in enumerate(messages):
        _message(msg, i)
    n = body.get("n")
    if n is not None and (not _is_int(n) or n < 1):
        raise FrontError(400, "'n' must be a positive integer.", "invalid_request_error", None, "n")
    for key in ("max_tokens", "max_completion_tokens", "seed", "top_k"):
        _optional(body, key, _is_int, "an integer")
    for key in ("temperature", "top_p", "presence_penalty", "frequency_penalty"):
        _optional(body, key, _is_number, "a number")
    for key in ("stream", "parallel_tool_calls"):
        _optional(body, key, lambda v: isinstance(v, bool), "a boolean")
    for key in ("stream_options", "response_format"):
        _optional(body, key, lambda v: isinstance(v, dict), "an object")
    _optional(body, "stop", _is_stop, "a string or an array of strings")
    _optional(body, "user", lambda v: isinstance(v, str), "a string")
    _tools(body.get("tools"))
    _tool_choice(body.get("tool_choice"))


def _embedding_input(value: Any) -> bool:
    if isinstance(value, str):
        return True
    if not isinstance(value, list) or not value:
        return False
    if all(isinstance(v, str) for v in value) or all(_is_int(v) for v in value):
        return True
    return all(isinstance(v, list) and all(_is_int(t) for t in v) for v in value)


def check_embeddings(body: Json) -> None:
    """FrontError 400 unless ``input`` is a string, strings, tokens or token lists, and the options typed."""
    if body.get("input") in (None, "", []):
        raise FrontError(400, "'input' is required.", "invalid_request_error", None, "input")
    if not _embedding_input(body["input"]):
        raise _bad("input", "a string, an array of strings, or token arrays")
    _optional(body, "dimensions", lambda v: _is_int(v) and v > 0, "a positive integer")
    _optional(body, "encoding_format", lambda v: isinstance(v, str), "a string")
    _optional(body, "user", lambda v: isinstance(v, str), "a string")
