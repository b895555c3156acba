"""Scenario files load into frozen values, and every class of broken file gets an error that names
the file, the key path and what was expected (strict keys; SPEC 10 catalogue; RUN-02 suppressions)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from testbed.errors import ConfigError
from testbed.runner.scenario import ScenarioError, load_scenario, load_scenarios, parse_scenario

BASE: dict[str, Any] = {
    "name": "demo",
    "workload": {"rate_per_s": 10, "duration_s": 2, "mix": [{"model": "gpt-4o-mini", "stream": True}]},
}


def with_(**changes: Any) -> dict[str, Any]:
    data = yaml.safe_load(yaml.safe_dump(BASE))
    for dotted, value in changes.items():
        node = data
        keys = dotted.split("__")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    return data


def error_of(data: Any) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data, "demo.yaml")
    return info.value


def test_a_minimal_scenario_gets_the_documented_defaults() -> None:
    sc = parse_scenario(BASE, "demo.yaml")
    assert sc.name == "demo" and sc.gateway == "reference" and sc.fail_on == "violation"
    assert sc.workload.rate_per_s == 10 and sc.workload.process == "constant" and sc.workload.canaries
    assert sc.workload.mix[0].stream is True and sc.drain_timeout_s == 30.0
    assert "loss" in sc.checks and "isolation" not in sc.checks


def test_faults_accept_inline_and_nested_parameters_and_keep_their_catalogue_id() -> None:
    sc = parse_scenario(with_(faults=[
        {"at_s": 0.5, "duration_s": 1, "target": "ingest", "kind": "status", "status": 503, "times": 2},
        {"target": "provider", "kind": "throttle", "match": {"model": "gpt-*"}, "params": {"status": 429,
                                                                                          "retry_after": 1}},
    ]))
    first, second = sc.faults
    assert (first.kind, first.params, first.times, first.spec_id) == ("status", {"status": 503}, 2, "FLT-07")
    assert second.params == {"status": 429, "retry_after": 1} and second.match == {"model": "gpt-*"}


def test_modes_become_ingest_faults_on_their_blocks() -> None:
    seq = ["healthy", "slow", "slow", "healthy", "slow", "healthy", "slow", "healthy"]
    sc = parse_scenario(with_(modes={"block_s": 0.25, "sequence": seq}))
    assert sc.modes is not None and sc.modes.mode_at(0.3) == "slow" and sc.modes.mode_at(1.9) == "healthy"
    assert [(f.kind, f.at_s, f.duration_s) for f in sc.all_faults()][:2] == [("latency", 0.25, 0.25), ("latency", 0.5, 0.25)]


def test_the_comparator_path_joins_the_direct_path_LAT_04() -> None:
    sc = parse_scenario(with_(workload__direct=True, workload__comparator=True))
    assert sc.workload.comparator and sc.workload.direct


@pytest.mark.parametrize(
    ("data", "path", "words"),
    [
        pytest.param(with_(workload__rate_pr_s=5), "workload.rate_pr_s", "unknown key", id="unknown-nested-key"),
        pytest.param(with_(colour="red"), "colour", "unknown key", id="unknown-top-key"),
        pytest.param({"name": "x", "workloda": BASE["workload"]}, "workloda", "did you mean 'workload'?",
                     id="misspelt-top-key"),
        pytest.param(with_(workload__mix=[{"modle": "m"}]), "workload.mix[0].modle", "did you mean 'model'?",
                     id="misspelt-mix-key"),
        pytest.param(with_(faults=[{"target": "ingest", "kind": "status", "status": 503, "tims": 2}]),
                     "faults[0].tims", "did you mean 'times'?", id="misspelt-fault-key"),
        pytest.param(with_(faults=[{"target": "ingest", "kind": "latency", "params": {"latency": 5}}]),
                     "faults[0].params.latency", "did you mean 'latency_ms'?", id="misspelt-nested-param"),
        pytest.param(with_(faults=[{"target": "ingest"}]), "faults[0].kind", "required", id="missing-kind"),
        pytest.param(with_(faults=[{"target": "provider", "kind": "status", "match": {"modl": "m"}}]),
                     "faults[0].match.modl", "did you mean 'model'?", id="misspelt-match-key"),
        pytest.param({"workload": BASE["workload"]}, "name", "required", id="missing-name"),
        pytest.param({"name": "x"}, "workload", "required", id="missing-workload"),
        pytest.param(with_(workload__rate_per_s="fast"), "workload.rate_per_s", "expected a number", id="rate-type"),
        pytest.param(with_(workload__rate_per_s=0), "workload.rate_per_s", "> 0", id="rate-zero"),
        pytest.param(with_(workload__rate_per_s=-3), "workload.rate_per_s", "> 0", id="rate-negative"),
        pytest.param(with_(workload__process="bursty"), "workload.process", "constant", id="process"),
        pytest.param(with_(workload__mix=[{"model": "m", "stream": "yes"}]), "workload.mix[0].stream",
                     "true or false", id="mix-bool"),
        pytest.param(with_(workload__mix=[]), "workload.mix", "at least one", id="empty-mix"),
        pytest.param(with_(workload__warmup_s=5), "workload.warmup_s", "less than duration_s", id="warmup"),
        pytest.param(with_(checks=["semconv", "vibes"]), "checks[1]", "got 'vibes'", id="unknown-check"),
        pytest.param(with_(checks=["isolation"]), "checks", "modes", id="isolation-needs-modes"),
        pytest.param(with_(checks=["latency"]), "checks", "direct", id="latency-needs-direct"),
        pytest.param(with_(faults=[{"target": "provider", "kind": "partial_success", "match": {"model": "m"}}]),
                     "faults[0].kind", "applies to ingest", id="kind-wrong-target"),
        pytest.param(with_(faults=[{"target": "ingest", "kind": "explode"}]), "faults[0].kind", "expected one of",
                     id="unknown-kind"),
        pytest.param(with_(faults=[{"target": "database", "kind": "down"}]), "faults[0].target", "expected one of",
                     id="unknown-target"),
        pytest.param(with_(faults=[{"target": "ingest", "kind": "latency", "latncy_ms": 5}]),
                     "faults[0].latncy_ms", "did you mean 'latency_ms'?", id="unknown-param"),
        pytest.param(with_(faults=[{"target": "ingest", "kind": "latency", "latency_ms": -5}]),
                     "faults[0].latency_ms", "number >= 0", id="negative-param"),
        pytest.param(with_(faults=[{"target": "ingest", "kind": "down", "at_s": 9}]), "faults[0].at_s",
                     "less than workload.duration_s", id="fault-after-load"),
        pytest.param(with_(faults=[{"target": "provider", "kind": "overloaded"}]), "faults[0].match",
                     "match.model", id="provider-fault-needs-model"),
        pytest.param(with_(faults=[{"target": "exporter", "kind": "exporter_kill", "signal": "HUP"}]),
                     "faults[0].signal", "KILL", id="bad-signal"),
        pytest.param(with_(faults=[{"target": "bus", "kind": "bus_down", "name": "a"},
                                   {"target": "bus", "kind": "bus_down", "name": "a"}]),
                     "faults[1].name", "duplicate", id="duplicate-fault-name"),
        pytest.param(with_(modes={"block_s": 1, "sequence": ["healthy", "slow"]}), "modes.sequence",
                     "at least 3 separate blocks (ISO-03)", id="modes-unbalanced"),
        pytest.param(with_(modes={"block_s": 1, "sequence": ["healthy", "slow", "slow", "healthy", "slow", "healthy"]}),
                     "modes.sequence", "mode 'slow' needs at least 3 separate blocks", id="modes-adjacent-blocks-merge"),
        pytest.param(with_(workload__comparator=True), "workload.comparator",
                     "direct: true", id="comparator-needs-direct"),
        pytest.param(with_(modes={"block_s": 1, "sequence": ["healthy", "sleepy"]}), "modes.sequence[1]",
                     "expected one of", id="unknown-mode"),
        pytest.param(with_(modes={"block_s": 1, "sequence": ["healthy", "slow"] * 3}),
                     "modes.block_s", "outlast", id="modes-too-long"),
        pytest.param(with_(fail_on="info"), "fail_on", "violation", id="fail-on"),
        pytest.param(with_(thresholds={"latency": [{"percentile": 99}]}), "thresholds.latency[0].overhead_ms",
                     "LAT-07", id="budget-without-limit"),
        pytest.param(with_(stack={"behaviours": ["slow"]}), "stack.behaviours[0]", "mapping", id="behaviour-type"),
        pytest.param(with_(name="Has Spaces"), "name", "lowercase", id="bad-name"),
        pytest.param(with_(stack={"exporter": {"retry": {"jiter": 0.1}}}), "stack.exporter.retry.jiter",
                     "did you mean 'jitter'?", id="exporter-override-typo"),
        pytest.param(with_(stack={"behaviours": [{"model": "*", "latncy_ms": 5}]}), "stack.behaviours[0].latncy_ms",
                     "did you mean 'latency_ms'?", id="behaviour-rule-typo"),
        pytest.param(with_(expected_findings=[{"spec_id": "SEM-04", "reason": " "}]), "expected_findings[0].reason",
                     "RUN-02", id="suppression-blank-reason"),
        pytest.param(["not", "a", "mapping"], "(top level)", "expected a mapping", id="top-level-list"),
    ],
)
def test_broken_files_get_an_error_naming_the_file_the_path_and_the_expectation(
    data: Any, path: str, words: str
) -> None:
    err = error_of(data)
    assert err.file == "demo.yaml" and err.path == path, str(err)
    assert words in str(err) and str(err).startswith(f"demo.yaml: {path}: ")


def test_a_suppression_without_a_reason_is_refused_run_02() -> None:
    err = error_of(with_(expected_findings=[{"spec_id": "SEM-04"}]))
    assert "reason" in str(err) and "demo.yaml" in str(err) and isinstance(err, ConfigError)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nworkload: {rate_per_s: 1\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(path) in str(info.value) and "line" in str(info.value)


def test_duplicate_scenario_names_in_one_directory_are_refused(tmp_path: Path) -> None:
    for stem in ("a", "b"):
        (tmp_path / f"{stem}.yaml").write_text(yaml.safe_dump(BASE), encoding="utf-8")
    with pytest.raises(ScenarioError, match="duplicate scenario name"):
        load_scenarios(tmp_path)


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                    max_leaves=12))
def test_arbitrary_documents_either_load_or_raise_a_scenario_error(doc: Any) -> None:
    for candidate in (doc, {**BASE, "workload": doc}, {**BASE, "faults": doc}, {**BASE, "stack": doc}):
        try:
            parse_scenario(candidate, "fuzz.yaml")
        except ScenarioError:
            pass


def test_exporter_overrides_keep_only_the_keys_given() -> None:
    sc = parse_scenario(with_(stack={"exporter": {"retry": {"max_backoff_s": 1}, "otlp": {"timeout_ms": 500}}}))
    assert sc.stack.exporter == {"retry": {"max_backoff_s": 1.0}, "otlp": {"timeout_ms": 500}}
    assert parse_scenario(BASE).stack.exporter == {}
