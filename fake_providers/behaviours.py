"""Behaviour rules: schema, strict parsing, matching on the model name, ``x-fake-*`` headers (pure).

A rule selects requests by model name (``fnmatch`` glob, case-sensitive) and optionally by
provider; the first matching rule in the list wins. Its fields shape the answer (SPEC section 10):
timing and stream shape always apply; the *faults* (``status``/``overloaded``, ``hang``,
``reset``, ``mid_stream_error``, ``truncate``) are gated together by ``times`` (the first N
requests the fault applies to, then normal) and ``probability`` (a seeded RNG draw).
``x-fake-<field>`` request headers override the matched rule's fields for one request
(``HEADER_FIELDS`` lists them). The same schema serves the admin API and the YAML file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Final, Literal

from fake_providers import finish
from fake_providers.wire import Provider

Kind = Literal["int", "number", "bool", "str", "retry_after", "status", "provider", "finish"]


class BehaviourError(ValueError):
    """A rule or an ``x-fake-*`` header is invalid; ``field`` names where (``behaviours[0].status``)."""

    def __init__(self, field_path: str, message: str) -> None:
        super().__init__(f"{field_path}: {message}")
        self.field = field_path
        self.message = message


@dataclass(frozen=True, slots=True)
class Spec:
    kind: Kind
    minimum: float | None = None
    maximum: float | None = None


_MS: Final = Spec("number", 0, 3_600_000)
_COUNT: Final = Spec("int", 0, 1_000_000_000)
TOP: Final[dict[str, Spec]] = {
    "name": Spec("str"), "model": Spec("str"), "provider": Spec("provider"),
    "latency_ms": _MS, "jitter_ms": _MS, "ttft_ms": _MS, "itl_ms": _MS,
    "tokens_per_chunk": Spec("int", 1, 100_000), "status": Spec("status", 400, 599),
    "error_type": Spec("str"), "times": _COUNT, "probability": Spec("number", 0, 1),
    "retry_after": Spec("retry_after"), "retry_after_ms": _MS, "should_retry": Spec("bool"),
    "overloaded": Spec("bool"), "finish_reason": Spec("finish"), "usage_chunk": Spec("bool"),
    "cache_read_tokens": _COUNT, "cache_creation_tokens": _COUNT, "reasoning_tokens": _COUNT,
}  # fmt: skip
GROUPS: Final[dict[str, dict[str, Spec]]] = {
    "mid_stream_error": {"after_chunks": _COUNT, "error_type": Spec("str")},
    "truncate": {"after_chunks": _COUNT, "after_bytes": _COUNT},
    "reset": {"after_bytes": _COUNT},
    "hang": {"hold_ms": _MS},
    "slow_body": {"bytes_per_s": Spec("number", 1, 1e12), "chunk_bytes": Spec("int", 1, 1 << 20)},
}
FAULT_FIELDS: Final = frozenset({"status", "overloaded", "hang", "reset", "mid_stream_error", "truncate"})
GATE_FIELDS: Final = FAULT_FIELDS | {"times", "probability", "error_type"}


def _header_table() -> dict[str, tuple[str, ...]]:
    table = {"x-fake-" + name.replace("_", "-"): (name,) for name in TOP if name not in ("name", "model", "provider")}
    for group, fields in GROUPS.items():
        for name in fields:
            table[f"x-fake-{group}-{name}".replace("_", "-")] = (group, name)
    table["x-fake-mid-stream-error-type"] = ("mid_stream_error", "error_type")  # the readable alias
    return table


HEADER_FIELDS: Final[dict[str, tuple[str, ...]]] = _header_table()


@dataclass(frozen=True, slots=True)
class MidStreamError:
    after_chunks: int = 0
    error_type: str | None = None


@dataclass(frozen=True, slots=True)
class Truncate:
    after_chunks: int | None = None
    after_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class Reset:
    after_bytes: int = 0


@dataclass(frozen=True, slots=True)
class Hang:
    hold_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class SlowBody:
    bytes_per_s: float
    chunk_bytes: int = 64


_GROUP_TYPES: Final[dict[str, type]] = {
    "mid_stream_error": MidStreamError, "truncate": Truncate, "reset": Reset, "hang": Hang, "slow_body": SlowBody,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class BehaviourRule:
    """One validated rule; every field optional but ``model`` (default ``*``, every model)."""

    model: str = "*"
    name: str | None = None
    provider: Provider | None = None
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    ttft_ms: float = 0.0
    itl_ms: float = 0.0
    tokens_per_chunk: int | None = None
    status: int | None = None
    error_type: str | None = None
    times: int | None = None
    probability: float | None = None
    retry_after: str | None = None
    retry_after_ms: float | None = None
    should_retry: bool | None = None
    overloaded: bool = False
    finish_reason: str | None = None
    usage_chunk: bool | None = None
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0
    reasoning_tokens: int = 0
    mid_stream_error: MidStreamError | None = None
    truncate: Truncate | None = None
    reset: Reset | None = None
    hang: Hang | None = None
    slow_body: SlowBody | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def matches(self, model: str, provider: Provider) -> bool:
        if self.provider is not None and self.provider is not provider:
            return False
        return fnmatchcase(model, self.model)

    @property
    def has_fault(self) -> bool:
        return any(bool(getattr(self, name)) for name in FAULT_FIELDS)

    def fault_applies(self, stream: bool) -> bool:
        """Whether this request can suffer one of the rule's faults (stream-only faults need a stream)."""
        if self.status is not None or self.overloaded or self.hang or self.reset:
            return True
        return stream and (self.mid_stream_error is not None or self.truncate is not None)

    def to_dict(self) -> dict[str, Any]:
        """The rule as given (validated), for ``GET /_fake/behaviours``."""
        return dict(self.raw)


def parse_rules(raw: Any, path: str = "behaviours") -> tuple[BehaviourRule, ...]:
    """Validate a list of rules; raise BehaviourError naming the first bad field."""
    if not isinstance(raw, list):
        raise BehaviourError(path, "must be a list of rules")
    return tuple(parse_rule(item, f"{path}[{i}]") for i, item in enumerate(raw))


def parse_rule(raw: Any, path: str = "rule") -> BehaviourRule:
    if not isinstance(raw, dict):
        raise BehaviourError(path, "must be an object")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        where = f"{path}.{key}"
        if key in TOP:
            values[key] = check_value(TOP[key], value, where)
        elif key in GROUPS:
            values[key] = _parse_group(key, value, where)
        else:
            raise BehaviourError(where, "unknown field")
    if "model" not in values:
        values["model"] = "*"
    if values.get("provider") is not None:
        values["provider"] = Provider(values["provider"])
    return BehaviourRule(**values, raw=_clean(raw))


def _parse_group(group: str, raw: Any, path: str) -> Any:
    if not isinstance(raw, dict):
        raise BehaviourError(path, "must be an object")
    fields = GROUPS[group]
    values = {}
    for key, value in raw.items():
        if key not in fields:
            raise BehaviourError(f"{path}.{key}", "unknown field")
        values[key] = check_value(fields[key], value, f"{path}.{key}")
    if group == "truncate" and len([v for v in values.values() if v is not None]) != 1:
        raise BehaviourError(path, "give exactly one of after_chunks, after_bytes")
    if group == "slow_body" and "bytes_per_s" not in values:
        raise BehaviourError(f"{path}.bytes_per_s", "required")
    return _GROUP_TYPES[group](**values)


def check_value(spec: Spec, value: Any, path: str) -> Any:
    """Validate one field value; ``None`` is allowed for every field (meaning "not set")."""
    if value is None:
        return None
    if spec.kind in ("str", "provider", "finish"):
        if not isinstance(value, str) or not value:
            raise BehaviourError(path, "must be a non-empty string")
        if spec.kind == "provider" and value not in {p.value for p in Provider}:
            raise BehaviourError(path, "must be one of openai, anthropic, gemini")
        if spec.kind == "finish" and value not in finish.KNOWN:
            raise BehaviourError(path, f"unknown finish reason {value!r}")
        return value
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise BehaviourError(path, "must be true or false")
        return value
    if spec.kind == "retry_after":
        return _retry_after(value, path)
    return _number(spec, value, path)


def _number(spec: Spec, value: Any, path: str) -> float | int:
    integral = spec.kind in ("int", "status")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BehaviourError(path, "must be an integer" if integral else "must be a number")
    if integral and not (isinstance(value, int) or (math.isfinite(value) and value == int(value))):
        raise BehaviourError(path, "must be an integer")
    if not math.isfinite(value):
        raise BehaviourError(path, "must be finite")
    if spec.minimum is not None and value < spec.minimum:
        raise BehaviourError(path, f"must be >= {spec.minimum:g}")
    if spec.maximum is not None and value > spec.maximum:
        raise BehaviourError(path, f"must be <= {spec.maximum:g}")
    return int(value) if integral else float(value)


def _retry_after(value: Any, path: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise BehaviourError(path, "must be seconds, an HTTP-date, or 'none'")
    if isinstance(value, str):
        if not value.strip() or any(c in value for c in "\r\n"):
            raise BehaviourError(path, "must be seconds, an HTTP-date, or 'none'")
        return value.strip()
    if not math.isfinite(value) or value < 0:
        raise BehaviourError(path, "must be a finite number >= 0")
    return f"{value:g}" if isinstance(value, float) else str(value)


def _clean(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items() if v is not None}


def select(rules: tuple[BehaviourRule, ...], model: str, provider: Provider) -> BehaviourRule | None:
    """The first rule matching the requested model (and provider, if the rule names one)."""
    return next((rule for rule in rules if rule.matches(model, provider)), None)


def header_overrides(headers: dict[str, str]) -> dict[str, Any]:
    """``x-fake-*`` headers (lower-cased names) as a partial rule; BehaviourError names the header."""
    raw: dict[str, Any] = {}
    for name, text in headers.items():
        if not name.startswith("x-fake-"):
            continue
        if name not in HEADER_FIELDS:
            raise BehaviourError(name, "unknown x-fake header")
        keys = HEADER_FIELDS[name]
        spec = TOP[keys[0]] if len(keys) == 1 else GROUPS[keys[0]][keys[1]]
        value = check_value(spec, _from_text(spec, text, name), name)
        target = raw if len(keys) == 1 else raw.setdefault(keys[0], {})
        target[keys[-1]] = value
    return raw


def _from_text(spec: Spec, text: str, path: str) -> Any:
    text = text.strip()
    if spec.kind in ("str", "provider", "finish", "retry_after"):
        return text
    if spec.kind == "bool":
        lowered = text.lower()
        if lowered in ("true", "1", "on", "yes"):
            return True
        if lowered in ("false", "0", "off", "no"):
            return False
        raise BehaviourError(path, "must be true/false/on/off")
    try:
        return int(text) if spec.kind in ("int", "status") else float(text)
    except ValueError:
        raise BehaviourError(path, "must be a number") from None


def merge(rule: BehaviourRule | None, overrides: dict[str, Any]) -> BehaviourRule:
    """``rule`` with the header overrides applied (a group header replaces only its own field)."""
    raw = dict(rule.raw) if rule is not None else {}
    for key, value in overrides.items():
        if isinstance(value, dict):
            group = dict(raw.get(key) or {})
            group.update(value)
            if key == "truncate":
                group = {k: v for k, v in group.items() if k in value}
            raw[key] = group
        else:
            raw[key] = value
    try:
        return parse_rule(raw, "x-fake headers")
    except BehaviourError as exc:
        raise BehaviourError(exc.field, exc.message) from None


def overrides_gate(overrides: dict[str, Any]) -> bool:
    """Whether the headers set a fault or its gating (then they get their own ``times`` counter)."""
    return any(key in GATE_FIELDS for key in overrides)
