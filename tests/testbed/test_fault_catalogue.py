"""The one fault catalogue, read by the runner and by the fake ingest: the two sides must agree on
every kind, parameter and match key, or a scenario that loads cleanly fails mid-run (or, worse, a
parameter is dropped on the way without anyone noticing). These tests hold the ingest's fault
classes, its ``POST /_faults`` parsing and the runner's provider translation to the table."""

from __future__ import annotations

import re
from typing import Any

import pytest

from fake_middleware.faults import KINDS, FaultSpec, FaultSpecError, build, spec_from_dict
from testbed.fault_catalogue import CATALOGUE, MATCH_KEYS, PARAM_TYPES, TARGETS, kinds_for
from testbed.runner.scenario import Fault, ScenarioError, parse_scenario
from testbed.runner.timeline import ingest_fault_body, provider_rule

# A value of each parameter type that differs from every default.
SAMPLE: dict[str, Any] = {"number": 123457, "int": 123457, "str": "sample-text", "bool": False, "any": "sample-any"}


def test_every_kind_the_ingest_can_build_is_catalogued_for_the_ingest_and_vice_versa() -> None:
    assert set(KINDS) == kinds_for("ingest")


def test_every_kind_has_a_target_a_spec_id_and_typed_parameters() -> None:
    ids = [k.spec_id for k in CATALOGUE.values()]
    assert len(set(ids)) == len(ids) and all(i.startswith("FLT-") for i in ids)
    for kind in CATALOGUE.values():
        assert kind.targets and kind.targets <= set(TARGETS), kind.kind
        assert kind.params <= set(PARAM_TYPES), f"{kind.kind}: untyped {sorted(kind.params - set(PARAM_TYPES))}"


@pytest.mark.parametrize("kind", sorted(kinds_for("ingest")))
def test_the_ingest_takes_exactly_the_catalogued_ingest_parameters(kind: str) -> None:
    ingest = CATALOGUE[kind].params_for("ingest")
    for name in ingest:
        spec = FaultSpec(name="f", kind=kind, params={name: SAMPLE[PARAM_TYPES[name]]})
        try:
            build(spec)
        except FaultSpecError as exc:  # a value may be out of range here; it must not be unknown
            assert "takes no parameter" not in str(exc), exc
    for name in sorted(set(PARAM_TYPES) - ingest):
        with pytest.raises(FaultSpecError, match=f"^{name}: {kind} on target 'ingest' takes no parameter"):
            build(FaultSpec(name="f", kind=kind, params={name: SAMPLE[PARAM_TYPES[name]]}))


def test_the_ingest_selects_by_the_catalogued_match_keys_only() -> None:
    allowed = {key: "*" for key in MATCH_KEYS["ingest"]}
    assert spec_from_dict({"kind": "down", "match": allowed}, "f").match == allowed
    for key in sorted(set().union(*MATCH_KEYS.values()) - MATCH_KEYS["ingest"]):
        with pytest.raises(FaultSpecError, match="match"):
            spec_from_dict({"kind": "down", "match": {key: "*"}}, "f")


def test_a_kind_of_another_target_is_refused_by_the_ingest_with_its_target() -> None:
    with pytest.raises(FaultSpecError, match=r"^kind: truncate \(FLT-14\) applies to provider, not to target 'ingest'"):
        spec_from_dict({"kind": "truncate"}, "f")


@pytest.mark.parametrize(("target", "kind", "match", "params", "path", "words"), [
    ("ingest", "status", {"model": "m"}, {}, "match.model", "does not select by 'model'"),
    ("provider", "status", {"model": "m", "path": "/x"}, {}, "match.path", "match keys there: model"),
    ("provider", "status", {"model": "m"}, {"then_status": 500}, "then_status", "takes no parameter"),
    ("ingest", "throttle", {}, {"retry_after_ms": 5}, "retry_after_ms", "takes no parameter"),
    ("provider", "finish", {"model": "m"}, {}, "finish_reason", "needs 'finish_reason'"),
    ("bus", "status", {}, {}, "kind", "applies to ingest, provider"),
], ids=["model-on-ingest", "path-on-provider", "ingest-param-on-provider", "provider-param-on-ingest",
        "required-missing", "wrong-target"])
def test_a_fault_that_does_not_fit_its_target_is_refused_with_the_key(
        target: str, kind: str, match: dict[str, str], params: dict[str, Any], path: str, words: str) -> None:
    problem = CATALOGUE[kind].problem(target, match, params)
    assert problem is not None and problem[0] == path and words in problem[1], problem


def test_a_fault_that_fits_has_no_problem() -> None:
    assert CATALOGUE["status"].problem("provider", {"model": "m"}, {"status": 500, "error_type": "x"}) is None


@pytest.mark.parametrize("kind", sorted(kinds_for("provider")))
def test_every_provider_parameter_reaches_the_behaviour_rule(kind: str) -> None:
    required = {name: "stop" for name in CATALOGUE[kind].required}
    bare = provider_rule(Fault(name="f", target="provider", kind=kind, match={"model": "m"}, params=required))
    for name in sorted(CATALOGUE[kind].params_for("provider")):
        fault = Fault(name="f", target="provider", kind=kind, match={"model": "m"},
                      params={**required, name: SAMPLE[PARAM_TYPES[name]]})
        assert provider_rule(fault) != bare, f"{kind}.{name} is dropped on the way to the fake provider"


@pytest.mark.parametrize("kind", sorted(kinds_for("ingest")))
def test_every_ingest_parameter_and_match_key_reaches_the_ingest(kind: str) -> None:
    params = {name: SAMPLE[PARAM_TYPES[name]] for name in CATALOGUE[kind].params_for("ingest")}
    match = {key: "*" for key in MATCH_KEYS["ingest"]}
    body = ingest_fault_body(Fault(name="f", target="ingest", kind=kind, match=match, params=params))
    spec = spec_from_dict(body, "f")
    assert dict(spec.match) == match and {k: spec.params[k] for k in params} == params


@pytest.mark.parametrize(("fault", "path"), [
    ({"target": "ingest", "kind": "status", "match": {"model": "gpt-*"}}, "faults[0].match.model"),
    ({"target": "provider", "kind": "status", "match": {"model": "m"}, "params": {"then_status": 500}},
     "faults[0].params.then_status"),
    ({"target": "ingest", "kind": "throttle", "retry_after_ms": 5}, "faults[0].retry_after_ms"),
], ids=["match-key-of-another-target", "nested-param-of-another-target", "inline-param-of-another-target"])
def test_scenario_loading_refuses_what_the_target_would_drop(fault: dict[str, Any], path: str) -> None:
    scenario = {"name": "demo", "workload": {"rate_per_s": 5, "duration_s": 1}, "faults": [fault]}
    with pytest.raises(ScenarioError, match=re.escape(path)):
        parse_scenario(scenario, "demo.yaml")


@pytest.mark.parametrize(("param", "value"), [("latency_ms", -1), ("latency_ms", "slow"), ("seed", 1.5)])
def test_a_bad_value_reads_the_same_from_the_ingest_and_from_scenario_loading(param: str, value: Any) -> None:
    with pytest.raises(FaultSpecError) as ingest:
        spec_from_dict({"kind": "latency", param: value}, "f")
    scenario = {"name": "demo", "workload": {"rate_per_s": 5, "duration_s": 1},
                "faults": [{"target": "ingest", "kind": "latency", param: value}]}
    with pytest.raises(ScenarioError) as loading:
        parse_scenario(scenario, "demo.yaml")
    detail = str(ingest.value).split(": ", 1)[1]
    assert str(ingest.value).startswith(f"latency.{param}: ") and loading.value.detail == detail
