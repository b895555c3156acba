"""Second line of defence for Exclude Request Data (SPEC section 4, RED-06). Pure.

The gateway already publishes excluded events with null content. If one arrives carrying content
anyway, the exporter removes every attribute SPEC section 4 lists as content, whatever its
convention, and the status description (it may hold provider error text). The kept
fields (operation, provider, models, ids, finish reasons, usage, parameters other than stop
sequences, ``error.type``, HTTP status, timings, resource, trace ids) are untouched.
"""

from __future__ import annotations

import dataclasses
from typing import Final

from testbed.exporter.spans import SpanRecord

CONTENT_ATTRIBUTES: Final = frozenset(
    {
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.system_instructions",
        "gen_ai.tool.definitions",
        "gen_ai.prompt",
        "gen_ai.completion",
        "gen_ai.request.stop_sequences",
        "input.value",
        "output.value",
        "input.mime_type",
        "output.mime_type",
        "llm.prompts",
        "tfy.input",
        "tfy.output",
        "tfy.input_short_hand",
        "tfy.error_message",
        "exception.message",
        "exception.stacktrace",
    }
)
"""Attribute names that carry request or response content (SPEC section 4 table)."""

CONTENT_PREFIXES: Final = (
    "gen_ai.prompt.",
    "gen_ai.completion.",
    "llm.input_messages.",
    "llm.output_messages.",
    "llm.openai.",
    "llm.anthropic.",
    "llm.gemini.",
    "http.request.header.",
    "http.response.header.",
)
"""Name prefixes of indexed content, raw provider dumps and captured headers."""


def is_content(name: str) -> bool:
    return name in CONTENT_ATTRIBUTES or name.startswith(CONTENT_PREFIXES)


def strip_content(span: SpanRecord) -> SpanRecord:
    """The span without content attributes and without a status description."""
    kept = {k: v for k, v in span.attributes.items() if not is_content(k)}
    if len(kept) == len(span.attributes) and not span.status_message:
        return span
    return dataclasses.replace(span, attributes=kept, status_message="")
