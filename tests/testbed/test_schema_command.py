"""``testbed schema``: every kind prints a JSON Schema that refuses unknown keys, and ``--check``
loads the shipped files (all valid) or named ones (a misspelt key fails with 'did you mean')."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testbed.cli import main
from testbed.schema.command import KINDS, check_files


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_prints_a_json_schema_that_refuses_unknown_keys(kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", kind]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"].startswith("https://json-schema.org/")
    top = schema["items"] if schema.get("type") == "array" else schema
    if "$ref" in top:
        top = schema["$defs"][top["$ref"].rsplit("/", 1)[-1]]
    assert top["additionalProperties"] is False and top["properties"]


@pytest.mark.parametrize("kind", ["scenario", "profile", "gateway", "exporter", "rules"])
def test_every_shipped_file_of_a_kind_loads(kind: str) -> None:
    assert KINDS[kind].shipped(), f"no shipped {kind} file found"
    assert check_files(kind, []) == []


def test_check_of_shipped_scenarios_exits_zero_and_counts_them(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "scenario", "--check"]) == 0
    count = len(KINDS["scenario"].shipped())
    assert f"scenario: {count} of {count} file(s) valid" in capsys.readouterr().out


def test_check_reports_every_bad_file_with_did_you_mean_and_exits_two(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.yaml").write_text("name: a\nworkloda: {rate_per_s: 1, duration_s: 2}\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("name: b\nworkload: {rate_per_s: 1, duration_s: 2, mix: [{modle: m}]}\n",
                                     encoding="utf-8")
    (tmp_path / "c.yaml").write_text("name: c\nworkload: {rate_per_s: 1, duration_s: 2}\n", encoding="utf-8")
    assert main(["schema", "scenario", "--check", *(str(tmp_path / f) for f in ("a.yaml", "b.yaml", "c.yaml"))]) == 2
    out, err = capsys.readouterr()
    assert "scenario: 1 of 3 file(s) valid" in out
    assert "a.yaml: workloda: unknown key 'workloda'; did you mean 'workload'?" in err
    assert "b.yaml: workload.mix[0].modle: unknown key 'modle'; did you mean 'model'?" in err


def test_a_kind_with_no_shipped_file_needs_named_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "behaviours", "--check"]) == 2
    path = tmp_path / "behaviours.yaml"
    path.write_text("behaviours: [{model: '*', latency_ms: 5}]\n", encoding="utf-8")
    assert main(["schema", "behaviours", "--check", str(path)]) == 0
    path.write_text("behaviours: [{model: '*', latncy_ms: 5}]\n", encoding="utf-8")
    assert main(["schema", "behaviours", "--check", str(path)]) == 2
    assert "did you mean 'latency_ms'?" in capsys.readouterr().err


def test_an_unknown_kind_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as info:
        main(["schema", "scenarios"])
    assert info.value.code == 2
