"""The defect catalogue (RUN-05): every check has a seeded defect it must catch, every switch is
catalogued, and every row points at a shipped scenario that runs its check."""

from __future__ import annotations

from pathlib import Path

import pytest

from testbed.checks import REGISTRY
from testbed.exporter.defects import EXPORTER_DEFECTS
from testbed.gateway.defects import GATEWAY_DEFECTS
from testbed.runner.scenario import load_scenarios
from testbed.selftest.catalogue import CATALOGUE, by_name

SCENARIOS = Path(__file__).resolve().parents[3] / "scenarios"
SWITCHES = {"gateway": GATEWAY_DEFECTS, "exporter": EXPORTER_DEFECTS}


def test_every_registered_check_has_a_defect_it_must_catch_as_a_violation_run_05() -> None:
    strong = {d.check for d in CATALOGUE if d.severity == "violation"}
    assert set(REGISTRY) <= strong, sorted(set(REGISTRY) - strong)


def test_every_defect_names_a_registered_check_and_cites_only_its_spec_ids() -> None:
    for d in CATALOGUE:
        assert d.check in REGISTRY, d.name
        assert d.spec_ids and set(d.spec_ids) <= set(REGISTRY[d.check].spec_ids), d.name


def test_every_defect_is_a_switch_of_its_components_and_every_switch_is_catalogued() -> None:
    for d in CATALOGUE:
        for component, names in SWITCHES.items():
            assert (d.name in names) is d.in_component(component), (d.name, component)
    catalogued = {(c, d.name) for d in CATALOGUE for c in SWITCHES if d.in_component(c)}
    switches = {(c, n) for c, names in SWITCHES.items() for n in names}
    assert switches == catalogued


def test_defect_names_are_unique_and_only_a_both_defect_is_a_switch_of_both_components() -> None:
    names = [d.name for d in CATALOGUE]
    assert len(names) == len(set(names))
    assert GATEWAY_DEFECTS & EXPORTER_DEFECTS == {d.name for d in CATALOGUE if d.component == "both"}


def test_the_redaction_check_has_a_leak_only_the_ingest_can_see_red_01() -> None:
    ingest_only = [d for d in CATALOGUE if d.check == "redaction" and d.spec_ids == ("RED-01",)]
    assert [d.name for d in ingest_only] == ["leak_content_at_ingest"]


def test_every_defect_scenario_is_shipped_and_runs_the_defects_check() -> None:
    shipped = load_scenarios(SCENARIOS)
    for d in CATALOGUE:
        assert d.scenario in shipped, d.name
        assert d.check in shipped[d.scenario].checks, d.name


def test_a_subset_is_taken_in_catalogue_order_and_an_unknown_name_is_refused() -> None:
    assert by_name(["drop_traceparent", "wrong_usage"]) == tuple(
        d for d in CATALOGUE if d.name in ("wrong_usage", "drop_traceparent"))
    assert by_name([]) == CATALOGUE
    with pytest.raises(KeyError):
        by_name(["no_such_defect"])
