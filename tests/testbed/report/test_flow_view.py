"""The per-hop loss table: counters as whole numbers, drops per reason, and a hop whose process
restarted during the scenario flagged (its counts start from zero after the restart)."""

from __future__ import annotations

from typing import Any

from testbed import counters as c
from testbed.report.flow_view import RESTARTED, hop_rows, restarted_parts
from testbed.report.html import render_html
from tests.testbed.report.sample import results

COUNTERS = {c.GATEWAY_REQUESTS + '{route="chat",status="200"}': 20.0, c.GATEWAY_EVENTS_PUBLISHED: 20.0,
            c.GATEWAY_QUEUE_DEPTH: 0.0, c.EXPORTER_EVENTS_CONSUMED: 12.0, c.EXPORTER_SPANS_EXPORTED: 1234567.0,
            c.EXPORTER_SPANS_DROPPED + '{reason="too_large"}': 2.0,
            c.EXPORTER_SPANS_DROPPED + '{reason="permanent_400"}': 0.0, c.INGEST_SPANS_ACCEPTED: 24.0}
KILL = [{"fault": "kill-exporter", "kind": "exporter_kill", "target": "exporter", "op": "apply", "error": None},
        {"fault": "kill-exporter", "kind": "exporter_kill", "target": "exporter", "op": "clear", "error": None}]


def _rows(scenario: dict[str, Any] | None = None) -> dict[str, Any]:
    return {r.hop: r for r in hop_rows(COUNTERS, scenario)}


def test_counts_are_whole_numbers_and_drops_are_per_reason() -> None:
    rows = _rows()
    exported = rows["exporter (spans)"]
    assert exported.sent == 1234567 and type(exported.sent) is int
    assert exported.dropped == 2 and exported.drop_reasons == (("too_large", 2),)
    assert rows["gateway"].queued == 0 and type(rows["gateway"].queued) is int
    assert "gateway (spans)" not in rows and "bus (JetStream)" not in rows  # no counter of theirs was read
    assert rows["ingest"].sent is None


def test_no_restart_flags_no_hop() -> None:
    assert not any(r.restarted for r in _rows({"timeline": [], "settings": {}}).values())


def test_a_kill_fault_flags_the_exporter_hops_only() -> None:
    rows = _rows({"timeline": KILL})
    assert rows["exporter"].restarted == f"fault kill-exporter (exporter_kill): {RESTARTED}"
    assert rows["exporter (spans)"].restarted and not rows["gateway"].restarted and not rows["ingest"].restarted


def test_a_failed_kill_is_no_restart() -> None:
    assert restarted_parts({"timeline": [{**KILL[0], "error": "no exporter running"}]}) == {}


def test_a_supervisor_restart_flags_its_part() -> None:
    settings = {"supervisor": {"restarts": {"gateway-2": 1, "exporter": 0}, "left_down": []}}
    assert restarted_parts({"settings": settings}) == {"gateway": "restarted by the supervisor 1 time(s)"}


def test_the_report_shows_numbers_and_the_restart() -> None:
    data = results()
    scenario = data["scenarios"][0]
    scenario["counters"] = COUNTERS
    scenario["timeline"] = [{**r, "planned_s": 1.0 if r["op"] == "apply" else 1.5} for r in KILL]
    html = render_html(data)
    assert ">1234567<" in html and "1.23457e+06" not in html and "too_large: 2" in html
    assert f"restarted: fault kill-exporter (exporter_kill): {RESTARTED}" in html
    assert "A restarted process counts from zero" in html
