"""Scenario sets and stack shapes: the ``sets:`` key and ``testbed run --set NAME``, and the
``stack:`` keys that ask for a NATS cluster, several gateways or several exporters.

Covers strict reading (a bad set name, ``default`` listed as a set, a two-node cluster are refused
with the key path), set selection over a directory of scenario files (unknown sets named with the
known ones), the shipped sets (cluster, soak, signals stay out of the default set), and the CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from testbed.cli import build_parser
from testbed.errors import ConfigError
from testbed.runner.cli_entry import SCENARIOS_DIR, scenario_sets, select
from testbed.runner.scenario import ScenarioError, load_scenarios, parse_scenario


def _doc(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "workload": {"rate_per_s": 10, "duration_s": 1}, **extra}


def _write(directory: Path, *docs: dict[str, Any]) -> Path:
    for doc in docs:
        (directory / f"{doc['name']}.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return directory


def test_a_scenario_belongs_to_the_sets_it_lists_and_to_default_only_when_marked() -> None:
    sc = parse_scenario(_doc("a", sets=["cluster", "soak"]), "a.yaml")
    assert sc.sets == ("cluster", "soak")
    assert sc.in_set("cluster") and sc.in_set("soak") and not sc.in_set("default")
    assert parse_scenario(_doc("b", default=True), "b.yaml").in_set("default")


@pytest.mark.parametrize(("sets", "message"), [
    pytest.param("cluster", "expected a list", id="not-a-list"),
    pytest.param(["Cluster!"], "sets[0]: expected lowercase letters", id="bad-name"),
    pytest.param(["default"], "default: true", id="default-is-a-marker"),
])
def test_a_bad_sets_key_is_refused_with_its_path(sets: Any, message: str) -> None:
    with pytest.raises(ScenarioError, match="sets") as info:
        parse_scenario(_doc("a", sets=sets), "a.yaml")
    assert message in str(info.value)


def test_stack_keys_give_the_shape_a_session_is_started_with() -> None:
    sc = parse_scenario(_doc("a", stack={"nats_cluster": 3, "gateways": 3, "exporters": 2}), "a.yaml")
    assert sc.stack.shape == (3, 3, 2)
    assert parse_scenario(_doc("b"), "b.yaml").stack.shape == (0, 1, 1)


@pytest.mark.parametrize(("stack", "path"), [
    pytest.param({"nats_cluster": 2}, "stack.nats_cluster", id="two-nodes-have-no-quorum"),
    pytest.param({"gateways": 0}, "stack.gateways", id="no-gateway"),
    pytest.param({"exporters": "3"}, "stack.exporters", id="not-an-integer"),
    pytest.param({"replicas": 3}, "stack", id="unknown-key"),
])
def test_a_bad_stack_shape_is_refused_with_its_path(stack: dict[str, Any], path: str) -> None:
    with pytest.raises(ScenarioError, match=path.replace(".", r"\.")):
        parse_scenario(_doc("a", stack=stack), "a.yaml")


def test_run_set_picks_every_scenario_of_the_set_and_names_the_known_sets(tmp_path: Path) -> None:
    directory = _write(tmp_path, _doc("a", default=True), _doc("b", sets=["cluster"]), _doc("c", sets=["cluster"]))
    assert [sc.name for sc in select([], directory, set_name="cluster")] == ["b", "c"]
    assert [sc.name for sc in select([], directory)] == ["a"]
    assert [sc.name for sc in select(["a"], directory, set_name="cluster")] == ["b", "c", "a"]
    with pytest.raises(ConfigError, match=r"unknown scenario set 'nope' \(known: cluster, default\)"):
        select([], directory, set_name="nope")


def test_the_shipped_cluster_soak_and_signal_scenarios_are_in_their_sets_and_not_in_default() -> None:
    sets = scenario_sets(load_scenarios(SCENARIOS_DIR))
    assert sorted(sets["cluster"]) == ["cluster-node-killed", "exporter-rolling-restart"]
    assert sorted(sets["soak"]) == ["otlp-down-long", "otlp-hang-long"]
    assert sorted(sets["signals"]) == ["signal-error-burst", "signal-finish-length", "signal-healthy",
                                       "signal-latency-spike"]
    assert not set(sets["default"]) & {*sets["cluster"], *sets["soak"], *sets["signals"]}
    shapes = {sc.stack.shape for sc in load_scenarios(SCENARIOS_DIR).values() if sc.in_set("cluster")}
    assert all(nodes == 3 for nodes, _, _ in shapes)


def test_the_cli_takes_a_set_name_and_up_takes_the_cluster_shape() -> None:
    args = build_parser().parse_args(["run", "--set", "cluster"])
    assert args.set == "cluster" and args.scenarios == []
    up = build_parser().parse_args(["up", "--nats-cluster", "3", "--gateways", "2", "--exporters", "3"])
    assert (up.nats_cluster, up.gateways, up.exporters) == (3, 2, 3)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["up", "--gateways", "many"])


def test_up_takes_an_external_nats_from_its_flag_or_variable_and_never_prints_its_credentials() -> None:
    from testbed.cli import up_settings
    from testbed.runner.stack import without_credentials

    args = build_parser().parse_args(["up"])
    assert up_settings(args, {"TESTBED_NATS_URL": "nats://u:p@a:4222"}).nats_url == "nats://u:p@a:4222"
    assert up_settings(args, {}).nats_url is None
    flagged = build_parser().parse_args(["up", "--nats-url", "nats://a:1,nats://b:2"])
    assert up_settings(flagged, {}).nats_url == "nats://a:1,nats://b:2"
    assert without_credentials("nats://u:secret@a:1,nats://tok@b:2,nats://c:3") == \
        "nats://***@a:1,nats://***@b:2,nats://c:3"


def test_node_down_is_a_mode_that_kills_the_first_cluster_node_for_its_blocks() -> None:
    sc = parse_scenario(_doc("a", stack={"nats_cluster": 3}, workload={"rate_per_s": 10, "duration_s": 6},
                             modes={"block_s": 1, "sequence": ["healthy", "node_down"] * 3}), "a.yaml")
    faults = sc.mode_faults()
    assert [(f.target, f.kind, dict(f.params), f.at_s) for f in faults] == [
        ("bus", "bus_down", {"node": 0, "signal": "KILL"}, at) for at in (1.0, 3.0, 5.0)]
