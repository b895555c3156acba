"""Conventions (the rules files the checks judge spans by): the shipped ones load, ``legacy``
extends ``genai-1.41``, and a broken rules file or an unknown name is a configuration error that
names the file, the key path and what was expected, with "did you mean" for a misspelt key."""

from __future__ import annotations

from typing import Any

import pytest

from testbed.checks.rules import RULES_MODEL, AttributeRule, Convention, conventions, load_convention
from testbed.errors import ConfigError
from testbed.schema.errors import SchemaError
from testbed.schema.validate import validate


def test_every_shipped_convention_loads() -> None:
    assert conventions() == ["genai-1.41", "legacy", "openinference"]
    assert [load_convention(name).name for name in conventions()] == conventions()


def test_legacy_extends_genai_and_overrides_only_what_it_sets() -> None:
    genai, legacy = load_convention("genai-1.41"), load_convention("legacy")
    assert not genai.deprecated_satisfies and legacy.deprecated_satisfies
    assert legacy.attributes == genai.attributes and legacy.content == genai.content
    assert legacy.selects({"gen_ai.system": 1}) and genai.selects({"gen_ai.request.model": 1})
    assert not genai.selects({"http.route": 1})
    assert genai.is_content("gen_ai.prompt.0.content") and not genai.is_content("gen_ai.usage.input_tokens")


def test_the_expected_provider_table_is_typed() -> None:
    gemini = load_convention("genai-1.41").expected["gemini"]
    assert gemini.provider == "gcp.gemini" and gemini.operations[":generateContent"] == ("generate_content", "chat")


def test_an_unknown_convention_is_a_config_error_with_a_suggestion() -> None:
    with pytest.raises(ConfigError, match=r"convention: unknown convention 'genai-1.4'; did you mean 'genai-1.41'\?"):
        load_convention("genai-1.4")


@pytest.mark.parametrize(("rule", "path", "words"), [
    ({"type": "int", "level": "must"}, "attributes.a.level", "expected one of 'required'"),
    ({"type": "float", "level": "required"}, "attributes.a.type", "got 'float'"),
    ({"type": "int", "level": "required", "extra": 1}, "attributes.a.extra", "unknown key 'extra'"),
    ({"type": "int", "level": "recommended", "condition": "param_top_k"}, "attributes.a.condition",
     "got 'param_top_k'"),
    ({"type": "int", "level": "required", "rule": 12}, "attributes.a.rule", "expected a string"),
], ids=["bad-level", "bad-type", "unknown-key", "unknown-condition", "rule-not-a-string"])
def test_attribute_rules_are_parsed_strictly_with_their_path(rule: dict[str, Any], path: str, words: str) -> None:
    with pytest.raises(SchemaError) as info:
        validate(AttributeRule, rule, "rules/x.yaml", path="attributes.a")
    assert (info.value.file, info.value.path) == ("rules/x.yaml", path)
    assert words in info.value.detail


def test_a_misspelt_key_in_a_rules_file_gets_a_did_you_mean() -> None:
    with pytest.raises(SchemaError) as info:
        validate(Convention, {"name": "x", "attributes": {"a": {"type": "int", "levle": "required"}}}, "rules/x.yaml")
    assert info.value.path == "attributes.a.levle"
    assert "did you mean 'level'?" in info.value.detail
    with pytest.raises(SchemaError, match=r"rules/x.yaml: non_standrd: unknown key 'non_standrd'; "
                                          r"did you mean 'non_standard'\?"):
        validate(Convention, {"name": "x", "non_standrd": []}, "rules/x.yaml")


def test_the_rules_schema_is_exported_for_the_schema_command() -> None:
    schema = RULES_MODEL.model_json_schema()
    assert schema["additionalProperties"] is False and "attributes" in schema["properties"]
