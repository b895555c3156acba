"""Conventions: the rules files in ``rules/`` that say which attributes a span must carry (SPEC 1.4, 2.2, 2.6).

A convention (``genai-1.41``, ``legacy``, ``openinference``) is what the checks judge spans by; a
gateway profile names the one its gateway follows. Each file is validated by :class:`Convention`
(unknown keys, bad levels, types or conditions are a ``SchemaError`` naming the file and key path,
with "did you mean" for a misspelt key). ``extends: BASE`` takes the base file and overrides only
the top-level keys the file sets.
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
from collections.abc import Mapping
from importlib import resources
from typing import Any, Final, Literal, get_args

import yaml

from testbed.errors import ConfigError
from testbed.schema.base import Items, SchemaModel
from testbed.schema.errors import SchemaError
from testbed.schema.validate import validate

Level = Literal["required", "conditionally_required", "recommended", "opt_in"]
ValueType = Literal["string", "int", "double", "bool", "string[]", "any"]
# Every name ``condition:`` may take. ``never`` is explicit; an unknown name is refused at load,
# since silently treating it as "never" would switch the rule off. The evidence-owning ones are
# judged by the value and streaming checks (see semconv._OWNED_ELSEWHERE).
Condition = Literal[
    "available", "never", "journal_model", "server_address", "n_not_1", "seed", "output_format",
    "param_max_tokens", "param_temperature", "param_top_p", "embeddings",
    "stream", "journal_response", "journal_finish", "journal_usage", "error",
]
LEVELS: Final = frozenset(get_args(Level))
TYPES: Final = frozenset(get_args(ValueType))
CONDITIONS: Final = frozenset(get_args(Condition))


class AttributeRule(SchemaModel):
    """How one attribute is judged; the attribute's name is its key under ``attributes``."""

    type: ValueType
    level: Level
    rule: str = "SEM-12"
    """The SPEC id a finding about the attribute cites."""
    condition: Condition = "available"
    """The evidence that makes a conditionally required attribute due."""
    operations_except: Items[str] = ()


class Deprecation(SchemaModel):
    """A deprecated name (SPEC 2.6): its replacement, and how its values map onto the replacement's."""

    replacement: str | None = None
    values: dict[str, str] = {}


class NonStandard(SchemaModel):
    """A name never part of the conventions (SEM-13); ``type`` is what its meaning implies."""

    pattern: str
    type: ValueType | None = None


class ProviderExpectation(SchemaModel):
    """What a fake provider's wire format implies, keyed by the journal's provider (SEM-03, SEM-04)."""

    provider: str | None = None
    operations: dict[str, Items[str]] = {}
    """Path fragment -> the operation names a span of a request to it may carry."""


class Convention(SchemaModel):
    """One rules file: the attributes a span must or may carry, and what is content."""

    name: str
    extends: str | None = None
    """A convention whose keys this file starts from (resolved at load)."""
    select_any_of: Items[str] = ()
    """Glob patterns; a span with any matching attribute is this convention's to judge."""
    deprecated_satisfies: bool = False
    operations: Items[str] = ()
    providers: Items[str] = ()
    expected: dict[str, ProviderExpectation] = {}
    attributes: dict[str, AttributeRule] = {}
    registry_extra: Items[str] = ()
    deprecated: dict[str, Deprecation] = {}
    non_standard: Items[NonStandard] = ()
    content: Items[str] = ()
    """Glob patterns of content attributes, removed under Exclude Request Data."""
    content_events: Items[str] = ()
    input_content: Items[str] = ()
    output_content: Items[str] = ()
    span_kinds: Items[str] = ()

    @property
    def is_genai(self) -> bool:
        return "gen_ai.operation.name" in self.attributes

    def is_content(self, name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, p) for p in self.content)

    def non_standard_rule(self, name: str) -> NonStandard | None:
        return next((n for n in self.non_standard if fnmatch.fnmatchcase(name, n.pattern)), None)

    def selects(self, attributes: Mapping[str, Any]) -> bool:
        """Whether a span is the convention's to judge: any attribute matching the marker set
        (``gen_ai.*``), so a span that lost one required attribute is still judged."""
        return any(fnmatch.fnmatchcase(name, p) for name in attributes for p in self.select_any_of)

    def known(self, name: str) -> bool:
        return name in self.attributes or name in self.registry_extra or name in self.deprecated


RULES_MODEL: Final = Convention
"""The schema of a rules file, for ``testbed schema rules``."""


def conventions() -> list[str]:
    """The names of the shipped conventions."""
    files = resources.files("testbed.checks").joinpath("rules").iterdir()
    return sorted(f.name[:-5] for f in files if f.name.endswith(".yaml"))


def _raw(name: str) -> tuple[str, Any]:
    where = f"rules/{name}.yaml"
    text = resources.files("testbed.checks").joinpath("rules").joinpath(f"{name}.yaml").read_text("utf-8")
    try:
        return where, yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SchemaError(where, "", f"not valid YAML ({exc})") from None


@functools.lru_cache(maxsize=None)
def load_convention(name: str) -> Convention:
    """Load a convention by name (``genai-1.41``, ``legacy``, ``openinference``)."""
    try:
        where, data = _raw(name)
    except (FileNotFoundError, NotADirectoryError):
        known = conventions()
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"convention: unknown convention {name!r}{hint} (known: {', '.join(known)})") from None
    if isinstance(data, Mapping) and isinstance(data.get("extends"), str):
        base = load_convention(data["extends"]).model_dump(exclude_unset=True)
        data = {**base, **data}
    return validate(Convention, data, where)
