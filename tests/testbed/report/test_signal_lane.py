"""The fault timeline shows the ingest's anomaly signals (SPEC 13, SIG-03) on their windows, on
the load's clock, and results.json carries them per scenario."""

from __future__ import annotations

from typing import Any

from testbed.report.flow_view import timeline_view
from testbed.runner.results import ScenarioOutcome, scenario_json

S = 1_000_000_000
T0 = 1_700_000_000 * S


def scenario(signals: list[dict[str, Any]]) -> dict[str, Any]:
    return {"settings": {"duration_s": 10}, "started_ns": str(T0 - 5 * S), "signals": signals,
            "timeline": [{"fault": "slow", "kind": "latency", "target": "provider", "op": "apply", "planned_s": 6.0,
                          "start_ns": str(T0 + 6 * S), "end_ns": str(T0 + 6 * S + 1000)},
                         {"fault": "slow", "kind": "latency", "target": "provider", "op": "clear",
                          "planned_s": 10.0, "start_ns": str(T0 + 10 * S), "end_ns": str(T0 + 10 * S)}]}


def titles(view: Any) -> list[str]:
    return [s.title for s in view.chart.shapes if s.title]


def test_a_signal_is_drawn_over_its_window_on_the_loads_clock() -> None:
    view = timeline_view(scenario([{"kind": "latency_spike", "window": {"start_ns": T0 + 7 * S,
                                                                          "end_ns": T0 + 8 * S}}]), "x")
    assert "latency_spike: 7s – 8s" in titles(view)


def test_without_signals_there_is_no_signal_lane() -> None:
    assert not any(t.startswith("latency_spike") for t in titles(timeline_view(scenario([]), "x")))


def test_results_json_carries_the_signals() -> None:
    out = ScenarioOutcome("s", "s.yaml", signals=({"kind": "token_jump"},))
    assert scenario_json(out)["signals"] == [{"kind": "token_jump"}]
