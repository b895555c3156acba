"""What the client was told: finish reasons, usage and model read from an OpenAI-format answer.

The load generator speaks the OpenAI chat format to every gateway, so one reader covers plain
JSON bodies and streamed chunks alike. The fields land on the ``ClientRecord`` so the checks can
compare the client's view with the provider's and the span's (RED-02 without pairing, RED-10,
client-visible truth). Pure: bytes or dicts in, a small value out; bad input yields nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Answer:
    """Accumulates one answer; a stream feeds it chunk by chunk."""

    finish: dict[int, str] = field(default_factory=dict)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    model: str | None = None

    def feed(self, obj: Any) -> None:
        if not isinstance(obj, Mapping):
            return
        if isinstance(obj.get("model"), str):
            self.model = obj["model"]
        usage = obj.get("usage")
        if isinstance(usage, Mapping):
            self.prompt_tokens = _int(usage.get("prompt_tokens"), self.prompt_tokens)
            self.completion_tokens = _int(usage.get("completion_tokens"), self.completion_tokens)
        for i, choice in enumerate(obj.get("choices") or ()):
            if isinstance(choice, Mapping) and isinstance(choice.get("finish_reason"), str):
                index = choice.get("index", i)
                self.finish[index if isinstance(index, int) else i] = choice["finish_reason"]

    def feed_bytes(self, data: bytes) -> None:
        try:
            self.feed(json.loads(data))
        except ValueError:
            return

    def fields(self, streamed: bool) -> dict[str, Any]:
        """Keyword arguments for ``dataclasses.replace(record, ...)``."""
        return {"finish_reasons": tuple(self.finish[k] for k in sorted(self.finish)),
                "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "response_model": self.model, "streamed": streamed}


def _int(v: Any, default: int | None) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else default


def read_answer(chunks: Iterable[Any]) -> Answer:
    answer = Answer()
    for c in chunks:
        answer.feed(c)
    return answer
