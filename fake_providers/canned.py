"""Deterministic completions: the same prompt always gets the same text, tool call and counts (pure).

Each provider module reduces its request to a ``Prompt``; ``generate`` turns it into a
``Generation`` with one ``Choice`` per requested choice. The rules (docs/fake_providers.md):

- ``fingerprint`` = sha256 of the canonical JSON (sorted keys, no spaces, UTF-8) of
  ``{"endpoint", "model", "prompt", "seed"}``, where ``prompt`` holds the request's prompt fields.
- Choice ``i`` text = ``OUT`` canary, the echoed prompt canaries, then 8 to 24 filler words and a
  full stop, single spaces between. ``OUT`` = ``derive("OUT", fingerprint, "out", str(i))``.
- A tool call is made when the request offers tools, does not forbid them, and its last message is
  not a tool result. The tool is the one the request forces, else the first. Arguments are
  ``{"<first string property, else input>": "<OTC canary>"}``; ``OTC`` =
  ``derive("OTC", fingerprint, "otc", str(i))``; the call id is ``call_`` + 24 hex of the same kind.
- A stop sequence cuts the text before its first occurrence (finish ``stop_sequence``); then a text
  longer than ``max_tokens`` tokens is cut to ``max_tokens`` tokens (finish ``length``). Tool calls
  are never cut.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from typing import Any, Final, Literal

from fake_providers import canaries
from fake_providers.tokens import count_all, count_tokens, truncate_tokens

Finish = Literal["stop", "length", "tool", "stop_sequence"]
ToolMode = Literal["auto", "none", "required"]

FILLER_WORDS: Final = (
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
    "india", "juliet", "kilo", "lima", "mike", "november", "oscar", "papa",
    "quebec", "romeo", "sierra", "tango", "uniform", "victor", "whiskey", "xray",
    "yankee", "zulu", "fake", "reply", "token", "stream", "model", "answer",
)  # fmt: skip
MIN_FILLER: Final = 8
FILLER_SPREAD: Final = 17


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool the request offers: its name and the argument the fake fills with its OTC canary."""

    name: str
    arg_name: str = "input"


@dataclass(frozen=True, slots=True)
class Prompt:
    """What the generator needs from a request, whatever its wire format."""

    endpoint: str
    model: str
    fields: dict[str, Any]
    strings: tuple[str, ...]
    seed: int | None = None
    tools: tuple[ToolSpec, ...] = ()
    tool_mode: ToolMode = "auto"
    forced_tool: str | None = None
    after_tool_result: bool = False
    choices: int = 1
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str
    canary: str

    @property
    def tokens(self) -> int:
        return count_tokens(self.name) + count_tokens(self.arguments)


@dataclass(frozen=True, slots=True)
class Choice:
    index: int
    text: str
    out_canary: str
    finish: Finish
    stop_sequence: str | None = None
    tool_call: ToolCall | None = None

    @property
    def text_tokens(self) -> int:
        return count_tokens(self.text)

    @property
    def text_breaks(self) -> tuple[int, ...]:
        """Offsets where a stream must cut the text so the OUT canary spans two chunks."""
        at = canaries.split_offset(self.text, self.out_canary)
        return () if at is None else (at,)


@dataclass(frozen=True, slots=True)
class Generation:
    fingerprint: str
    prompt_tokens: int
    choices: tuple[Choice, ...]
    echoes: tuple[str, ...]


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def fingerprint(prompt: Prompt) -> str:
    doc = {"endpoint": prompt.endpoint, "model": prompt.model, "prompt": prompt.fields, "seed": prompt.seed}
    return hashlib.sha256(canonical_json(doc).encode("utf-8")).hexdigest()


def generate(prompt: Prompt) -> Generation:
    """The deterministic answer to ``prompt``."""
    fp = fingerprint(prompt)
    echoes = tuple(canaries.find(prompt.strings))
    choices = tuple(_choice(prompt, fp, echoes, i) for i in range(max(1, prompt.choices)))
    return Generation(fp, count_all(prompt.strings), choices, echoes)


def _choice(prompt: Prompt, fp: str, echoes: tuple[str, ...], index: int) -> Choice:
    out = canaries.derive("OUT", fp, "out", str(index))
    text = " ".join([out, *echoes, _filler(fp, index)]) + "."
    tool = _tool_call(prompt, fp, index)
    if tool is not None:
        return Choice(index, text, out, "tool", tool_call=tool)
    text, finish, matched = _apply_limits(text, prompt)
    return Choice(index, text, out, finish, stop_sequence=matched)


def _filler(fp: str, index: int) -> str:
    seed = int(hashlib.sha256(f"{fp}|filler|{index}".encode()).hexdigest()[:16], 16)
    rng = random.Random(seed)
    count = MIN_FILLER + seed % FILLER_SPREAD
    return " ".join(rng.choice(FILLER_WORDS) for _ in range(count))


def _tool_call(prompt: Prompt, fp: str, index: int) -> ToolCall | None:
    if not prompt.tools or prompt.tool_mode == "none" or prompt.after_tool_result:
        return None
    chosen = prompt.tools[0]
    if prompt.forced_tool is not None:
        chosen = next((t for t in prompt.tools if t.name == prompt.forced_tool), ToolSpec(prompt.forced_tool))
    canary = canaries.derive("OTC", fp, "otc", str(index))
    call_id = "call_" + hashlib.sha256(f"{fp}|call|{index}".encode()).hexdigest()[:24]
    arguments = json.dumps({chosen.arg_name: canary})
    return ToolCall(call_id, chosen.name, arguments, canary)


def _apply_limits(text: str, prompt: Prompt) -> tuple[str, Finish, str | None]:
    finish: Finish = "stop"
    matched: str | None = None
    cut = len(text)
    for stop in prompt.stop:
        at = text.find(stop) if stop else -1
        if 0 <= at < cut:
            cut, matched = at, stop
    if matched is not None:
        text, finish = text[:cut], "stop_sequence"
    if prompt.max_tokens is not None and count_tokens(text) > prompt.max_tokens:
        return truncate_tokens(text, prompt.max_tokens), "length", None
    return text, finish, matched


def walk_strings(value: Any) -> list[str]:
    """Every string value (never a key) inside ``value``, depth first, in document order."""
    out: list[str] = []
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return out


def string_property(schema: Any) -> str:
    """The first property of a JSON schema whose type is ``string``, else ``input``."""
    props = schema.get("properties") if isinstance(schema, dict) else None
    if isinstance(props, dict):
        for name, spec in props.items():
            if isinstance(spec, dict) and spec.get("type") == "string":
                return str(name)
    return "input"
