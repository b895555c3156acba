"""Loss accounting per hop, the fault timeline and the topology for the report, pure.

The hop table reads the counter deltas of a scenario (``scenarios[].counters``, Prometheus
sample names) through one explicit table of which counter means received, sent, retried,
dropped and queued at each hop (SPEC 7). The timeline pairs each fault's ``apply`` with its
``clear``; times are the planned seconds from the start of the load, the axis the latency
series uses too. The topology is the ingest's ``GET /api/v1/topology`` answer when the run
stored it as ``scenarios[].topology``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from testbed.report._data import as_dict, as_dicts, as_float, as_list, as_str
from testbed.report.charts import FAULT_COLOUR, MODE_COLOURS, Chart
from testbed.report.diagrams import Band, timeline, topology
from testbed.report.latency_view import series_points

SIGNAL_COLOUR: Final = "#f0b429"
"""Anomaly signals on the fault timeline."""

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True, slots=True)
class Hop:
    """Which counters answer each question at one hop; every name may carry labels."""

    name: str
    unit: str
    received: tuple[str, ...] = ()
    sent: tuple[str, ...] = ()
    retried: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    queued: tuple[str, ...] = ()


HOPS: Final = (
    Hop("gateway", "events", ("testbed_gateway_requests_total",), ("testbed_gateway_events_published_total",),
        (), ("testbed_gateway_events_dropped_total",), ("testbed_gateway_event_queue_depth",)),
    Hop("gateway (spans)", "spans", dropped=("testbed_gateway_spans_dropped_total",)),
    Hop("bus (JetStream)", "events", queued=("testbed_bus_pending_events",)),
    Hop("exporter", "events", ("testbed_exporter_events_consumed_total",), (), (),
        ("testbed_exporter_events_dropped_total",), ()),
    Hop("exporter (spans)", "spans", (), ("testbed_exporter_spans_exported_total",),
        ("testbed_exporter_export_retries_total",), ("testbed_exporter_spans_dropped_total",),
        ("testbed_exporter_spans_queued",)),
    Hop("ingest", "spans", ("fake_middleware_spans_accepted_total", "fake_middleware_spans_rejected_total"),
        ("fake_middleware_spans_stored",), ("fake_middleware_retries_total",),
        ("fake_middleware_spans_rejected_total",), ()),
)


@dataclass(frozen=True, slots=True)
class HopRow:
    hop: str
    unit: str
    received: float | None
    sent: float | None
    retried: float | None
    dropped: float | None
    drop_reasons: str
    queued: float | None


@dataclass(frozen=True, slots=True)
class FaultRow:
    fault: str
    kind: str
    target: str
    op: str
    planned_s: float | None
    took_ms: float | None
    error: str


@dataclass(frozen=True, slots=True)
class TimelineView:
    chart: Chart | None
    rows: tuple[FaultRow, ...]
    note: str


@dataclass(frozen=True, slots=True)
class TopologyView:
    chart: Chart | None
    edges: tuple[tuple[str, str, str, str], ...]
    note: str


def _split(key: str) -> tuple[str, dict[str, str]]:
    m = _SAMPLE.match(key)
    if not m:
        return key, {}
    return m.group(1), dict(_LABEL.findall(m.group(2) or ""))


def _sum(counters: Mapping[str, float], names: tuple[str, ...]) -> float | None:
    found = [v for k, v in counters.items() if _split(k)[0] in names]
    return sum(found) if found else None


def _reasons(counters: Mapping[str, float], names: tuple[str, ...]) -> str:
    by: dict[str, float] = {}
    for k, v in counters.items():
        name, labels = _split(k)
        if name in names and v:
            reason = labels.get("reason", "unlabelled")
            by[reason] = by.get(reason, 0.0) + v
    return ", ".join(f"{r}: {v:g}" for r, v in sorted(by.items()))


def hop_rows(counters: Any) -> tuple[HopRow, ...]:
    """One row per hop that exposed at least one of its counters."""
    values = {k: f for k, v in as_dict(counters).items() if (f := as_float(v)) is not None}
    rows = []
    for hop in HOPS:
        cells = [_sum(values, names) for names in (hop.received, hop.sent, hop.retried, hop.dropped, hop.queued)]
        if any(c is not None for c in cells):
            rows.append(HopRow(hop.name, hop.unit, cells[0], cells[1], cells[2], cells[3],
                               _reasons(values, hop.dropped), cells[4]))
    return tuple(rows)


def _fault_rows(records: list[dict[str, Any]]) -> tuple[FaultRow, ...]:
    rows = []
    for r in records:
        start, end = as_float(r.get("start_ns")), as_float(r.get("end_ns"))
        took = (end - start) / 1e6 if start is not None and end is not None else None
        rows.append(FaultRow(as_str(r.get("fault"), "?"), as_str(r.get("kind")), as_str(r.get("target")),
                             as_str(r.get("op")), as_float(r.get("planned_s")), took, as_str(r.get("error"))))
    return tuple(rows)


def _fault_lanes(rows: tuple[FaultRow, ...], top_s: float) -> list[tuple[str, list[Band]]]:
    lanes: dict[str, list[Band]] = {}
    open_at: dict[str, float] = {}
    for r in rows:
        t = r.planned_s or 0.0
        if r.op == "apply":
            open_at[r.fault] = t
        elif r.op == "clear" and r.fault in open_at:
            label = f"{r.target} {r.kind}".strip()
            lanes.setdefault(r.fault, []).append(Band(open_at.pop(r.fault), t, label, FAULT_COLOUR))
    for fault, t in open_at.items():
        lanes.setdefault(fault, []).append(Band(t, top_s, "not cleared", FAULT_COLOUR))
    return list(lanes.items())


def _mode_lane(settings: dict[str, Any]) -> list[tuple[str, list[Band]]]:
    modes, block = as_list(settings.get("modes")), as_float(settings.get("block_s"))
    if not modes or not block:
        return []
    warmup = as_float(settings.get("warmup_s")) or 0.0
    bands = [Band(warmup + i * block, warmup + (i + 1) * block, as_str(m), MODE_COLOURS.get(as_str(m), "#ddd"))
             for i, m in enumerate(modes)]
    return [("ingest mode", bands)]


def _signal_lane(scenario: dict[str, Any]) -> list[tuple[str, list[Band]]]:
    """The ingest's anomaly signals (SIG-03) as bands over their windows, on the load's clock: t = 0
    is the first fault record's time less its planned offset, else the scenario's start."""
    signals = as_dicts(scenario.get("signals"))
    if not signals:
        return []
    t0 = as_float(scenario.get("started_ns")) or 0.0
    for r in as_dicts(scenario.get("timeline")):
        start, planned = as_float(r.get("start_ns")), as_float(r.get("planned_s"))
        if start is not None and planned is not None:
            t0 = start - planned * 1e9
            break
    bands = []
    for s in signals:
        window = as_dict(s.get("window"))
        start, end = as_float(window.get("start_ns")), as_float(window.get("end_ns"))
        if start is not None and end is not None:
            bands.append(Band(max(0.0, (start - t0) / 1e9), max(0.0, (end - t0) / 1e9), as_str(s.get("kind")),
                              SIGNAL_COLOUR))
    return [("signals", bands)] if bands else []


def timeline_view(scenario: dict[str, Any], name: str) -> TimelineView:
    settings = as_dict(scenario.get("settings"))
    rows = _fault_rows(as_dicts(scenario.get("timeline")))
    points = series_points(scenario.get("series"))
    top_s = max([as_float(settings.get("duration_s")) or 0.0, *(r.planned_s or 0.0 for r in rows),
                 *(t for pts in points.values() for t, _ in pts)])
    lanes = _mode_lane(settings) + _fault_lanes(rows, top_s) + _signal_lane(scenario)
    note = "" if points else ("Latency over time was not collected (results.json has no per-scenario "
                              "'series'); the fault timeline is drawn alone.")
    if not lanes and not points:
        return TimelineView(None, rows, "No fault was injected in this scenario.")
    chart = timeline(top_s, lanes, points or None, f"fault timeline of {name}")
    return TimelineView(chart, rows, note)


def topology_view(scenario: dict[str, Any], name: str) -> TopologyView:
    topo = scenario.get("topology")
    if not isinstance(topo, Mapping):
        return TopologyView(None, (), "Topology not collected: this results.json has no per-scenario 'topology'.")
    nodes, edges = as_dicts(topo.get("nodes")), as_dicts(topo.get("edges"))
    if not nodes:
        return TopologyView(None, (), "The ingest held no spans to draw a topology from.")
    table = tuple((as_str(e.get("source")), as_str(e.get("target")), as_str(e.get("calls")),
                   as_str(e.get("errors"))) for e in edges)
    return TopologyView(topology(nodes, edges, f"service topology of {name}"), table, "")
