"""Behaviour rules: schema, strict parsing, matching on the model name, ``x-fake-*`` headers (pure).

A rule selects requests by model name (``fnmatch`` glob, case-sensitive) and optionally by
provider; the first matching rule in the list wins. Its fields shape the answer (SPEC section 10):
timing and stream shape always apply; the *faults* (``status``/``overloaded``, ``hang``,
``reset``, ``mid_stream_error``, ``truncate``) are gated together by ``times`` (the first N
requests the fault applies to, then normal) and ``probability`` (a seeded RNG draw).
``x-fake-<field>`` request headers override the matched rule's fields for one request
(``HEADER_FIELDS`` lists them). One schema (:class:`BehaviourRule`, through ``testbed.schema``)
serves the admin API, the YAML file and the headers, so all three word their errors alike; a
``null`` field means "not set".
"""

from __future__ import annotations

import difflib
from fnmatch import fnmatchcase
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, ConfigDict, Field, WithJsonSchema, create_model, model_validator

from fake_providers import finish
from fake_providers.wire import Provider
from testbed.schema import Items, SchemaError, SchemaModel, validate


class BehaviourError(ValueError):
    """A rule or an ``x-fake-*`` header is invalid; ``field`` names where (``behaviours[0].status``)."""

    def __init__(self, field_path: str, message: str) -> None:
        super().__init__(f"{field_path}: {message}")
        self.field = field_path
        self.message = message


def _finish_reason(value: str) -> str:
    if value not in finish.KNOWN:
        raise ValueError(f"unknown finish reason {value!r} (a provider's value, or stop, length, tool_calls, "
                         "content_filter)")
    return value


def _retry_after(value: str | float) -> str:
    if isinstance(value, str):
        if not value.strip() or any(c in value for c in "\r\n"):
            raise ValueError("expected seconds, an HTTP-date or 'none'")
        return value.strip()
    if value < 0:
        raise ValueError(f"expected seconds >= 0, got {value:g}")
    return str(int(value)) if value == int(value) else repr(value)


Ms = Annotated[float, Field(ge=0, le=3_600_000)]
Count = Annotated[int, Field(ge=0, le=1_000_000_000)]
Text = Annotated[str, Field(min_length=1)]
ProviderName = Annotated[Literal["openai", "anthropic", "gemini"], AfterValidator(Provider)]
FinishReason = Annotated[str, AfterValidator(_finish_reason),
                         WithJsonSchema({"type": "string", "enum": sorted(finish.KNOWN)})]
RetryAfter = Annotated[str | float, AfterValidator(_retry_after)]


class _Fields(SchemaModel):
    """A ``null`` value of a known field is left out, so it means "not set" (the field's default)."""

    @model_validator(mode="before")
    @classmethod
    def _null_is_unset(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None or k not in cls.model_fields}
        return data


class MidStreamError(_Fields):
    after_chunks: Count = 0
    error_type: Text | None = None


class Truncate(_Fields):
    after_chunks: Count | None = None
    after_bytes: Count | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Truncate:
        if (self.after_chunks is None) == (self.after_bytes is None):
            raise ValueError("give exactly one of after_chunks, after_bytes")
        return self


class Reset(_Fields):
    after_bytes: Count = 0


class Hang(_Fields):
    hold_ms: Ms = 0.0


class SlowBody(_Fields):
    bytes_per_s: Annotated[float, Field(ge=1, le=1e12)]
    chunk_bytes: Annotated[int, Field(ge=1, le=1 << 20)] = 64


class BehaviourRule(_Fields):
    """One validated rule; every field optional but ``model`` (default ``*``, every model)."""

    model: Text = "*"
    name: Text | None = None
    provider: ProviderName | None = None
    latency_ms: Ms = 0.0
    jitter_ms: Ms = 0.0
    ttft_ms: Ms = 0.0
    itl_ms: Ms = 0.0
    tokens_per_chunk: Annotated[int, Field(ge=1, le=100_000)] | None = None
    status: Annotated[int, Field(ge=400, le=599)] | None = None
    error_type: Text | None = None
    times: Count | None = None
    probability: Annotated[float, Field(ge=0, le=1)] | None = None
    retry_after: RetryAfter | None = None
    retry_after_ms: Ms | None = None
    should_retry: bool | None = None
    overloaded: bool = False
    finish_reason: FinishReason | None = None
    usage_chunk: bool | None = None
    cache_read_tokens: Count = 0
    cache_creation_tokens: Count = 0
    reasoning_tokens: Count = 0
    mid_stream_error: MidStreamError | None = None
    truncate: Truncate | None = None
    reset: Reset | None = None
    hang: Hang | None = None
    slow_body: SlowBody | None = None

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
        return self.model_dump(mode="json", exclude_unset=True)


class BehavioursFile(_Fields):
    """The ``--behaviours`` YAML file: the same rule list as ``PUT /_fake/behaviours``."""

    behaviours: Items[BehaviourRule] = ()


BEHAVIOURS_MODEL: Final = BehavioursFile
"""The schema of a behaviours file, for ``testbed schema behaviours``."""

GROUPS: Final[dict[str, type[_Fields]]] = {
    "mid_stream_error": MidStreamError, "truncate": Truncate, "reset": Reset, "hang": Hang, "slow_body": SlowBody,
}  # fmt: skip
FAULT_FIELDS: Final = frozenset({"status", "overloaded", "hang", "reset", "mid_stream_error", "truncate"})
GATE_FIELDS: Final = FAULT_FIELDS | {"times", "probability", "error_type"}


def _header_table() -> dict[str, tuple[str, ...]]:
    table: dict[str, tuple[str, ...]] = {}
    for name in BehaviourRule.model_fields:
        if name in GROUPS:
            for inner in GROUPS[name].model_fields:
                table[f"x-fake-{name}-{inner}".replace("_", "-")] = (name, inner)
        elif name not in ("name", "model", "provider"):
            table["x-fake-" + name.replace("_", "-")] = (name,)
    table["x-fake-mid-stream-error-type"] = ("mid_stream_error", "error_type")  # the readable alias
    return table


HEADER_FIELDS: Final[dict[str, tuple[str, ...]]] = _header_table()


class _HeaderValue(SchemaModel):
    """One header's text read as its field's type: text, so ``"503"`` and ``"off"`` are converted."""

    model_config = ConfigDict(strict=False)


def _header_model(keys: tuple[str, ...]) -> type[SchemaModel]:
    owner: type[_Fields] = BehaviourRule if len(keys) == 1 else GROUPS[keys[0]]
    info = owner.model_fields[keys[-1]]
    annotation = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
    return create_model("XFake_" + "_".join(keys), __base__=_HeaderValue, value=(annotation, ...))


_HEADER_MODELS: Final = {header: _header_model(keys) for header, keys in HEADER_FIELDS.items()}


def parse_rules(raw: Any, path: str = "behaviours") -> tuple[BehaviourRule, ...]:
    """Validate a list of rules; raise BehaviourError naming the first bad field."""
    if not isinstance(raw, list):
        raise BehaviourError(path, "expected a list of rules")
    return tuple(parse_rule(item, f"{path}[{i}]") for i, item in enumerate(raw))


def parse_rule(raw: Any, path: str = "rule") -> BehaviourRule:
    try:
        return validate(BehaviourRule, raw, "behaviours", path=path)
    except SchemaError as exc:
        raise BehaviourError(exc.path, exc.detail) from None


def _value(header: str, text: str) -> Any:
    try:
        return validate(_HEADER_MODELS[header], {"value": text.strip()}, header).value
    except SchemaError as exc:
        raise BehaviourError(header, exc.detail) from None


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
            raise BehaviourError(name, "unknown x-fake header" + _closest_header(name))
        keys = HEADER_FIELDS[name]
        target = raw if len(keys) == 1 else raw.setdefault(keys[0], {})
        target[keys[-1]] = _value(name, text)
    return raw


def _closest_header(name: str) -> str:
    close = difflib.get_close_matches(name, HEADER_FIELDS, n=1, cutoff=0.8)
    return f"; did you mean {close[0]!r}?" if close else ""


def merge(rule: BehaviourRule | None, overrides: dict[str, Any]) -> BehaviourRule:
    """``rule`` with the header overrides applied (a group header replaces only its own field)."""
    raw = rule.to_dict() if rule is not None else {}
    for key, value in overrides.items():
        if isinstance(value, dict):
            group = dict(raw.get(key) or {})
            group.update(value)
            if key == "truncate":
                group = {k: v for k, v in group.items() if k in value}
            raw[key] = group
        else:
            raw[key] = value
    return parse_rule(raw, "x-fake headers")


def overrides_gate(overrides: dict[str, Any]) -> bool:
    """Whether the headers set a fault or its gating (then they get their own ``times`` counter)."""
    return any(key in GATE_FIELDS for key in overrides)
