"""Server-sent-event framing for the three providers (pure).

- OpenAI chat and Gemini: ``data: <json>`` then a blank line; no ``event:`` lines (OAI-06, GEM-04).
- OpenAI chat ends with ``data: [DONE]``; Gemini ends when the body ends.
- Anthropic and the OpenAI Responses API: ``event: <name>`` then ``data: <json>`` then a blank line,
  where the JSON's ``type`` equals the event name (ANT-05, OAI-12).
"""

from __future__ import annotations

from typing import Any, Final

from fake_providers.wire import Frame, dumps

DONE: Final = b"data: [DONE]\n\n"


def data_frame(payload: Any, *, content: bool = False) -> Frame:
    return Frame(b"data: " + dumps(payload) + b"\n\n", content)


def event_frame(name: str, payload: Any, *, content: bool = False) -> Frame:
    return Frame(b"event: " + name.encode("utf-8") + b"\ndata: " + dumps(payload) + b"\n\n", content)


def done_frame() -> Frame:
    return Frame(DONE)


def ping_frame() -> Frame:
    # The recorded Anthropic streams write ping with a space after the colon; keep it byte-exact.
    return Frame(b'event: ping\ndata: {"type": "ping"}\n\n')
