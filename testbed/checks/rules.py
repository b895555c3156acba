"""Convention profiles loaded from the data files in ``rules/`` (SPEC 1.4, 2.2, 2.6).

Parsing is strict: an unknown key or a bad value raises ``ConfigError`` naming the file and key
path. ``legacy`` extends ``genai-1.41`` and only overrides the keys it sets.
"""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from testbed.errors import ConfigError

LEVELS = frozenset(("required", "conditionally_required", "recommended", "opt_in"))
TYPES = frozenset(("string", "int", "double", "bool", "string[]", "any"))
_TOP_KEYS = frozenset((
    "profile", "extends", "select_any_of", "deprecated_satisfies", "operations", "providers",
    "expected", "attributes", "registry_extra", "deprecated", "non_standard", "content",
    "content_events", "input_content", "output_content", "span_kinds",
))
_ATTR_KEYS = frozenset(("type", "level", "rule", "condition", "operations_except"))
# Every name ``condition:`` may take. ``never`` is explicit; an unknown name is refused at load,
# since silently treating it as "never" would switch the rule off. The evidence-owning ones are
# judged by the value and streaming checks (see semconv._OWNED_ELSEWHERE).
CONDITIONS = frozenset((
    "available", "never", "journal_model", "server_address", "n_not_1", "seed", "output_format",
    "param_max_tokens", "param_temperature", "param_top_p", "embeddings",
    "stream", "journal_response", "journal_finish", "journal_usage", "error",
))


@dataclass(frozen=True, slots=True)
class AttributeRule:
    name: str
    type: str
    level: str
    rule: str
    condition: str = "available"
    operations_except: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Deprecation:
    name: str
    replacement: str | None
    values: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class NonStandard:
    pattern: str
    type: str | None = None


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    select_any_of: tuple[str, ...]
    deprecated_satisfies: bool
    operations: frozenset[str]
    providers: frozenset[str]
    expected: Mapping[str, Mapping[str, Any]]
    attributes: Mapping[str, AttributeRule]
    registry_extra: frozenset[str]
    deprecated: Mapping[str, Deprecation]
    non_standard: tuple[NonStandard, ...]
    content: tuple[str, ...]
    content_events: frozenset[str]
    input_content: tuple[str, ...]
    output_content: tuple[str, ...]
    span_kinds: tuple[str, ...] = ()

    @property
    def is_genai(self) -> bool:
        return "gen_ai.operation.name" in self.attributes

    def is_content(self, name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, p) for p in self.content)

    def non_standard_rule(self, name: str) -> NonStandard | None:
        return next((n for n in self.non_standard if fnmatch.fnmatchcase(name, n.pattern)), None)

    def selects(self, attributes: Mapping[str, Any]) -> bool:
        """Whether a span is the profile's to judge: any attribute matching the marker set
        (``gen_ai.*``), so a span that lost one required attribute is still judged."""
        return any(fnmatch.fnmatchcase(name, p) for name in attributes for p in self.select_any_of)

    def known(self, name: str) -> bool:
        return name in self.attributes or name in self.registry_extra or name in self.deprecated


def _require(cond: bool, where: str, what: str) -> None:
    if not cond:
        raise ConfigError(f"{where}: {what}")


def _attribute(where: str, name: str, d: Any) -> AttributeRule:
    _require(isinstance(d, Mapping), f"{where}.attributes.{name}", "must be a mapping")
    unknown = set(d) - _ATTR_KEYS
    _require(not unknown, f"{where}.attributes.{name}", f"unknown keys {sorted(unknown)}")
    _require(d.get("type") in TYPES, f"{where}.attributes.{name}.type", f"one of {sorted(TYPES)}")
    _require(d.get("level") in LEVELS, f"{where}.attributes.{name}.level", f"one of {sorted(LEVELS)}")
    _require(str(d.get("condition", "available")) in CONDITIONS, f"{where}.attributes.{name}.condition",
             f"unknown condition {d.get('condition')!r}; one of {sorted(CONDITIONS)}")
    return AttributeRule(
        name, d["type"], d["level"], str(d.get("rule", "SEM-12")),
        str(d.get("condition", "available")), tuple(d.get("operations_except", ())),
    )


def _raw(name: str) -> dict[str, Any]:
    text = resources.files("testbed.checks").joinpath("rules").joinpath(f"{name}.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    _require(isinstance(data, dict), f"rules/{name}.yaml", "must be a mapping")
    unknown = set(data) - _TOP_KEYS
    _require(not unknown, f"rules/{name}.yaml", f"unknown keys {sorted(unknown)}")
    if "extends" in data:
        base = _raw(str(data["extends"]))
        base.update({k: v for k, v in data.items() if k != "extends"})
        return base
    return data


@functools.lru_cache(maxsize=None)
def load_profile(name: str) -> Profile:
    """Load a profile by name (``genai-1.41``, ``legacy``, ``openinference``)."""
    try:
        d = _raw(name)
    except FileNotFoundError as exc:
        raise ConfigError(f"profile: unknown convention profile {name!r}") from exc
    where = f"rules/{name}.yaml"
    deprecated = {
        k: Deprecation(k, (v or {}).get("replacement"), dict((v or {}).get("values") or {}))
        for k, v in (d.get("deprecated") or {}).items()
    }
    return Profile(
        name=str(d.get("profile", name)),
        select_any_of=tuple(d.get("select_any_of") or ()),
        deprecated_satisfies=bool(d.get("deprecated_satisfies", False)),
        operations=frozenset(d.get("operations") or ()),
        providers=frozenset(d.get("providers") or ()),
        expected=dict(d.get("expected") or {}),
        attributes={n: _attribute(where, n, a) for n, a in (d.get("attributes") or {}).items()},
        registry_extra=frozenset(d.get("registry_extra") or ()),
        deprecated=deprecated,
        non_standard=tuple(NonStandard(str(n["pattern"]), n.get("type")) for n in d.get("non_standard") or ()),
        content=tuple(d.get("content") or ()),
        content_events=frozenset(d.get("content_events") or ()),
        input_content=tuple(d.get("input_content") or ()),
        output_content=tuple(d.get("output_content") or ()),
        span_kinds=tuple(d.get("span_kinds") or ()),
    )
