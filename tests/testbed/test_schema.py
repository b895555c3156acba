"""The shared schema base: unknown keys are refused with a 'did you mean', values are not coerced,
and every message names the file, the key path and what was expected."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
from pydantic import Field, model_validator

from testbed.errors import ConfigError
from testbed.schema import Items, KeyPathError, SchemaError, SchemaModel, load_file, validate


class Entry(SchemaModel):
    model: str = Field(min_length=1)
    stream: bool = False
    weight: float = Field(default=1.0, ge=0)


class Fault(SchemaModel):
    kind: Literal["status"]
    status: int = Field(ge=100, le=599)


class Hang(SchemaModel):
    kind: Literal["hang"]
    for_s: float = Field(alias="for", gt=0)


class Workload(SchemaModel):
    rate_per_s: float = Field(gt=0)
    mix: Items[Entry] = ()
    labels: dict[str, Entry] = {}

    @model_validator(mode="after")
    def _unique_models(self) -> Workload:
        seen: set[str] = set()
        for i, entry in enumerate(self.mix):
            if entry.model in seen:
                raise KeyPathError(f"mix[{i}].model", f"duplicate model {entry.model!r}")
            seen.add(entry.model)
        return self


class Top(SchemaModel):
    name: str
    workload: Workload
    faults: Items[Fault | Hang] = ()


GOOD: dict[str, Any] = {"name": "demo", "workload": {"rate_per_s": 5, "mix": [{"model": "m"}]}}


def error_of(data: Any) -> SchemaError:
    with pytest.raises(SchemaError) as info:
        validate(Top, data, "demo.yaml")
    return info.value


def test_a_valid_mapping_becomes_a_frozen_model_with_lists_as_tuples() -> None:
    top = validate(Top, GOOD, "demo.yaml")
    assert top.workload.mix == (Entry(model="m"),) and top.workload.rate_per_s == 5.0
    with pytest.raises(Exception):
        top.name = "other"  # type: ignore[misc]


def test_a_misspelt_top_level_key_is_named_first_with_did_you_mean() -> None:
    err = error_of({"name": "demo", "workloda": {"rate_per_s": 1}})
    assert err.path == "workloda"
    assert err.detail.startswith("unknown key 'workloda'; did you mean 'workload'?")
    assert "allowed here: faults, name, workload" in err.detail
    assert str(err).startswith("demo.yaml: workloda: unknown key")
    assert "workload: required key is missing" in str(err)
    assert isinstance(err, ConfigError)


def test_a_misspelt_nested_key_names_its_full_path_and_the_close_key() -> None:
    err = error_of({**GOOD, "workload": {"rate_per_s": 1, "mix": [{"model": "a"}, {"model": "b", "steam": True}]}})
    assert err.path == "workload.mix[1].steam"
    assert "did you mean 'stream'?" in err.detail


def test_an_unknown_key_with_nothing_close_lists_the_allowed_keys_only() -> None:
    err = error_of({**GOOD, "zzzzzz": 1})
    assert "did you mean" not in err.detail and "allowed here: faults, name, workload" in err.detail


def test_keys_below_a_mapping_of_models_are_suggested_from_the_value_model() -> None:
    err = error_of({**GOOD, "workload": {"rate_per_s": 1, "labels": {"x": {"modl": "a"}}}})
    assert err.path == "workload.labels.x.modl" and "did you mean 'model'?" in err.detail


def test_union_members_never_appear_in_the_path_and_aliases_are_suggested() -> None:
    err = error_of({**GOOD, "faults": [{"kind": "status", "status": 503}, {"kind": "hang", "fro": 1}]})
    assert err.path.startswith("faults[1]") and "Hang" not in str(err) and "Fault" not in str(err)
    assert any("did you mean 'for'?" in line for line in (err.detail, *err.more))


@pytest.mark.parametrize(("data", "path", "fragment"), [
    ({"name": 3, "workload": {"rate_per_s": 1}}, "name", "expected a string, got an integer 3"),
    ({"name": "d", "workload": {"rate_per_s": "5"}}, "workload.rate_per_s", "expected a number, got a string '5'"),
    ({"name": "d", "workload": {"rate_per_s": 0}}, "workload.rate_per_s", "expected a value > 0, got 0"),
    ({"name": "d", "workload": {"rate_per_s": float("inf")}}, "workload.rate_per_s", "expected a finite number"),
    ({"name": "d", "workload": {"rate_per_s": 1, "mix": [{"model": "m", "stream": 1}]}},
     "workload.mix[0].stream", "expected true or false, got an integer 1"),
    ({"name": "d", "workload": {"rate_per_s": 1, "mix": [{"model": ""}]}}, "workload.mix[0].model",
     "expected a non-empty string"),
    ({"name": "d", "workload": {"rate_per_s": 1, "mix": "m"}}, "workload.mix", "expected a list"),
    ({"name": "d", "workload": []}, "workload", "expected a mapping, got a list"),
    ({"name": "d", "workload": {"rate_per_s": 1, "mix": [{"model": "m"}, {"model": "m"}]}},
     "workload.mix[1].model", "duplicate model 'm'"),
    ({"name": "d", "workload": {"rate_per_s": 1}, "faults": [{"kind": "status", "status": 700}]},
     "faults[0].status", "<= 599"),
    ([1, 2], "(top level)", "expected a mapping, got a list"),
], ids=["str", "number-not-coerced", "bound", "finite", "bool-not-coerced", "non-empty", "list", "mapping",
        "key-path-error", "union-bound", "top-level"])
def test_each_problem_names_its_key_path_and_what_was_expected(data: Any, path: str, fragment: str) -> None:
    err = error_of(data)
    assert (err.path, err.file) == (path, "demo.yaml")
    assert fragment in str(err)


def test_a_part_of_a_file_is_reported_under_its_own_path() -> None:
    with pytest.raises(SchemaError, match=r"^gw\.yaml: spec\.workload\.mix\[0\]\.modle: unknown key"):
        validate(Workload, {"rate_per_s": 1, "mix": [{"modle": "x"}]}, "gw.yaml", path="spec.workload")


def test_load_file_reads_yaml_and_reports_unreadable_and_unparsable_files(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("name: demo\nworkload: {rate_per_s: 2}\n", encoding="utf-8")
    assert load_file(Top, good).workload.rate_per_s == 2.0
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(SchemaError, match=r"bad\.yaml: line \d+: not valid YAML"):
        load_file(Top, bad)
    with pytest.raises(SchemaError, match=r"missing\.yaml: cannot read the file"):
        load_file(Top, tmp_path / "missing.yaml")


def test_the_json_schema_forbids_unknown_keys_for_editors() -> None:
    schema = Top.model_json_schema()
    assert schema["additionalProperties"] is False
    assert schema["$defs"]["Entry"]["additionalProperties"] is False


def test_a_list_with_a_bad_item_is_not_also_called_too_short() -> None:
    class Needs(SchemaModel):
        mix: Annotated[Items[Entry], Field(min_length=1)]

    with pytest.raises(SchemaError) as info:
        validate(Needs, {"mix": [{"modle": "m"}]}, "demo.yaml")
    assert info.value.path == "mix[0].modle" and "at least one" not in str(info.value)
    with pytest.raises(SchemaError, match=r"mix: expected at least one item, got 0"):
        validate(Needs, {"mix": []}, "demo.yaml")
