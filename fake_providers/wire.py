"""Values shared by the provider modules and the sender: providers, frames, response plans (pure).

A provider module never writes to a socket. It builds a ``ResponsePlan``: status, headers, and the
body as a list of ``Frame``s (one frame for a plain JSON body; one per SSE event for a stream),
plus the frame a mid-stream error would write. ``sending.py`` turns the plan into bytes on the wire,
applying the timing behaviours.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final

SSE_CONTENT_TYPE: Final = "text/event-stream; charset=utf-8"
JSON_CONTENT_TYPE: Final = "application/json"


class Provider(str, Enum):
    OPENAI = "openai"
    ANTHROPIC = "anthropic"
    GEMINI = "gemini"


@dataclass(frozen=True, slots=True)
class Frame:
    """Bytes written in one go. ``content`` marks a frame that carries generated text or arguments:
    timing (TTFT, inter-token gap) and fault positions (``after_chunks``) count only those."""

    data: bytes
    content: bool = False


@dataclass(slots=True)
class Summary:
    """What the fake answered, for the journal (SEM-09/16/17, GW-04 compare spans with it)."""

    status: int = 200
    id: str | None = None
    model: str | None = None
    finish_reasons: list[str] = field(default_factory=list)
    usage: dict[str, int] | None = None
    usage_raw: dict[str, Any] | None = None
    usage_reported: bool = False
    error_type: str | None = None
    canaries: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ResponsePlan:
    status: int
    frames: list[Frame]
    stream: bool = False
    content_type: str = JSON_CONTENT_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    error_frame: bytes | None = None
    usage_frames: frozenset[int] = frozenset()
    summary: Summary = field(default_factory=Summary)


def dumps(value: Any) -> bytes:
    """Compact JSON, the way the providers write it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_plan(status: int, body: Any, summary: Summary, headers: dict[str, str] | None = None) -> ResponsePlan:
    return ResponsePlan(status, [Frame(dumps(body), content=True)], headers=dict(headers or {}), summary=summary)
