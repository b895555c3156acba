"""Parse a client's JSON body so that no input can fail the server later (pure).

Every server of the project reads client JSON through :func:`loads_body`, which refuses, with a
:class:`JsonBodyError` the caller answers as a 400 in its own protocol's format:

- bytes that are not UTF-8 (UTF-8-encoded surrogates included: the standard forbids them);
- nesting deeper than ``max_depth``: a body nested 10,000 deep would overflow the parser, and
  one just under the parser's limit would overflow whatever walks it next (a serialiser, a
  copy), so the bound sits far below both;
- text that is not JSON.

A lone surrogate written as an escape (``"\\ud800"``) is valid JSON but cannot be encoded as
UTF-8 again; it becomes U+FFFD, so the value is safe to forward, store and serialise.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

MAX_DEPTH: Final = 64
"""Deeper bodies are refused; real chat requests (tool schemas included) stay far below."""

_STRING: Final = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET: Final = re.compile(rb"[\[\]{}]")
_SURROGATE_ESCAPE: Final = re.compile(r"\\u[dD][89abAB]|\\u[dD][c-fC-F]")


class JsonBodyError(ValueError):
    """The body cannot be accepted as JSON; the message is safe to send back (no body content)."""


def nesting_depth(raw: bytes) -> int:
    """The deepest bracket nesting of ``raw``, ignoring brackets inside strings."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub(b"", raw)):
        depth += 1 if match.group() in (b"[", b"{") else -1
        deepest = max(deepest, depth)
    return deepest


def _fix(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, list):
        return [_fix(v) for v in value]
    if isinstance(value, dict):
        return {_fix(k): _fix(v) for k, v in value.items()}
    return value


def loads_body(raw: bytes, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value of ``raw``; :class:`JsonBodyError` for bytes no client should send."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise JsonBodyError("The request body is not valid UTF-8.") from None
    # The bracket count bounds the depth; the exact scan runs only when the bound is too high.
    if raw.count(b"[") + raw.count(b"{") > max_depth and nesting_depth(raw) > max_depth:
        raise JsonBodyError(f"The request body is nested deeper than {max_depth} levels.")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise JsonBodyError("The request body is not valid JSON.") from None
    return _fix(value) if _SURROGATE_ESCAPE.search(text) else value
