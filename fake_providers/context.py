"""What a provider's response builder may read besides the request: ids, clock, behaviour (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from fake_providers.behaviours import BehaviourRule
from fake_providers.canned import Choice, Generation
from fake_providers.settings import FakeProviderSettings


class Parsed(Protocol):
    """A validated request: every provider parser returns one."""

    @property
    def model(self) -> str: ...

    @property
    def stream(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class BuildContext:
    request_id: str
    created: int
    rule: BehaviourRule
    settings: FakeProviderSettings
    error_message: str

    @property
    def tokens_per_chunk(self) -> int:
        return self.rule.tokens_per_chunk or self.settings.tokens_per_chunk


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts in neutral terms; each provider renders them its own way (SEM-09 semantics).

    ``prompt`` is the tokenizer count of the whole prompt, cached tokens included; ``output``
    is the generated tokens plus ``reasoning``.
    """

    prompt: int
    output: int
    cache_read: int = 0
    cache_creation: int = 0
    reasoning: int = 0

    @property
    def uncached_input(self) -> int:
        return self.prompt - self.cache_read - self.cache_creation

    def neutral(self) -> dict[str, int]:
        return {
            "input_tokens": self.prompt, "output_tokens": self.output, "cache_read_tokens": self.cache_read,
            "cache_creation_tokens": self.cache_creation, "reasoning_tokens": self.reasoning,
        }  # fmt: skip


def usage_for(prompt_tokens: int, generated: int, rule: BehaviourRule) -> Usage:
    """Usage with the behaviour's cache and reasoning counts, cache clamped inside the prompt."""
    read = min(rule.cache_read_tokens, prompt_tokens)
    creation = min(rule.cache_creation_tokens, prompt_tokens - read)
    return Usage(prompt_tokens, generated + rule.reasoning_tokens, read, creation, rule.reasoning_tokens)


def canary_summary(generation: Generation, choices: tuple[Choice, ...] | None = None) -> dict[str, Any]:
    picked = choices if choices is not None else generation.choices
    return {
        "out": [c.out_canary for c in picked],
        "otc": [c.tool_call.canary for c in picked if c.tool_call is not None],
        "echoed": list(generation.echoes),
    }
