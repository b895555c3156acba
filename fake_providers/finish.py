"""Finish reasons: each provider's own values, and how a forced value maps across providers (pure).

A behaviour's ``finish_reason`` may be a provider's raw value or a neutral one (``stop``,
``length``, ``tool_calls``, ``content_filter``). A value the answering provider knows is used as is;
any other known value goes through its neutral meaning to the provider's value for it.
"""

from __future__ import annotations

from typing import Final

from fake_providers.wire import Provider

OPENAI: Final = frozenset({"stop", "length", "tool_calls", "content_filter", "function_call"})
ANTHROPIC: Final = frozenset(
    {"end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal", "model_context_window_exceeded"}
)
GEMINI: Final = frozenset(
    {"STOP", "MAX_TOKENS", "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
     "MALFORMED_FUNCTION_CALL", "OTHER"}
)  # fmt: skip
# The Responses API has no finish reason per output; a forced value maps to a status instead.
NEUTRAL: Final[dict[str, str]] = {
    "stop": "stop", "length": "length", "tool_calls": "tool_calls", "content_filter": "content_filter",
    "function_call": "tool_calls", "end_turn": "stop", "max_tokens": "length", "stop_sequence": "stop",
    "tool_use": "tool_calls", "pause_turn": "stop", "refusal": "content_filter",
    "model_context_window_exceeded": "length", "STOP": "stop", "MAX_TOKENS": "length",
    "SAFETY": "content_filter", "RECITATION": "content_filter", "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter", "SPII": "content_filter",
    "MALFORMED_FUNCTION_CALL": "tool_calls", "OTHER": "stop",
}  # fmt: skip
FROM_NEUTRAL: Final[dict[Provider, dict[str, str]]] = {
    Provider.OPENAI: {"stop": "stop", "length": "length", "tool_calls": "tool_calls", "content_filter": "content_filter"},
    Provider.ANTHROPIC: {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal"},
    Provider.GEMINI: {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP", "content_filter": "SAFETY"},
}
KNOWN: Final = frozenset(NEUTRAL)
# The generator's own outcomes (canned.Finish) in each provider's words.
NATURAL: Final[dict[Provider, dict[str, str]]] = {
    Provider.OPENAI: {"stop": "stop", "length": "length", "tool": "tool_calls", "stop_sequence": "stop"},
    Provider.ANTHROPIC: {"stop": "end_turn", "length": "max_tokens", "tool": "tool_use", "stop_sequence": "stop_sequence"},
    Provider.GEMINI: {"stop": "STOP", "length": "MAX_TOKENS", "tool": "STOP", "stop_sequence": "STOP"},
}
_OWN: Final = {Provider.OPENAI: OPENAI, Provider.ANTHROPIC: ANTHROPIC, Provider.GEMINI: GEMINI}


def resolve(provider: Provider, natural: str, forced: str | None) -> str:
    """The finish reason the provider reports: the forced one if any, else the natural outcome."""
    if forced is None:
        return NATURAL[provider][natural]
    if forced in _OWN[provider]:
        return forced
    return FROM_NEUTRAL[provider][NEUTRAL[forced]]


def neutral(value: str) -> str:
    return NEUTRAL.get(value, "stop")
