"""Loss accounting per hop, the fault timeline and the topology for the report, pure.

The hop table reads the counter deltas of a scenario (``scenarios[].counters``, keys in the
Prometheus text form that ``testbed.counters`` parses) through one explicit table of which counter
means received, sent, retried, dropped and queued at each hop (SPEC 7). Counts are whole numbers.
A hop whose process was restarted during the scenario (a kill or restart fault on the timeline,
or a restart by the supervisor) is flagged: the new process counts from zero, and what the old
one counted after the scenario's first reading died with it, so its figures may fall short
without any span being lost. The timeline pairs each fault's ``apply`` with its
``clear``; times are the planned seconds from the start of the load, the axis the latency
series uses too. The topology is the ingest's ``GET /api/v1/topology`` answer when the run
stored it as ``scenarios[].topology``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from testbed import counters as c
from testbed.counters import Samples
from testbed.report._data import as_dict, as_dicts, as_float, as_list, as_str
from testbed.report.charts import FAULT_COLOUR, MODE_COLOURS, Chart
from testbed.report.diagrams import Band, timeline, topology
from testbed.report.latency_view import series_points

SIGNAL_COLOUR: Final = "#f0b429"
"""Anomaly signals on the fault timeline."""

@dataclass(frozen=True, slots=True)
class Hop:
    """Which counters answer each question at one hop; every name may carry labels. ``part`` is
    the process kind behind the hop (the supervisor's and the fault timeline's name for it)."""

    name: str
    unit: str
    part: str
    received: tuple[str, ...] = ()
    sent: tuple[str, ...] = ()
    retried: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    queued: tuple[str, ...] = ()


HOPS: Final = (
    Hop("gateway", "events", "gateway", (c.GATEWAY_REQUESTS,), (c.GATEWAY_EVENTS_PUBLISHED,), (),
        (c.GATEWAY_EVENTS_DROPPED,), (c.GATEWAY_QUEUE_DEPTH,)),
    Hop("gateway (spans)", "spans", "gateway", dropped=(c.GATEWAY_SPANS_DROPPED,)),
    Hop("bus (JetStream)", "events", "bus", queued=(c.BUS_PENDING_EVENTS,)),
    Hop("exporter", "events", "exporter", (c.EXPORTER_EVENTS_CONSUMED,), (), (), (c.EXPORTER_EVENTS_DROPPED,), ()),
    Hop("exporter (spans)", "spans", "exporter", (), (c.EXPORTER_SPANS_EXPORTED,), (c.EXPORTER_RETRIES,),
        (c.EXPORTER_SPANS_DROPPED,), (c.EXPORTER_SPANS_QUEUED,)),
    Hop("ingest", "spans", "middleware", (c.INGEST_SPANS_ACCEPTED, c.INGEST_SPANS_REJECTED), (c.INGEST_SPANS_STORED,),
        (c.INGEST_RETRIES,), (c.INGEST_SPANS_REJECTED,), ()),
)

RESTART_FAULTS: Final = {"exporter_kill": "exporter", "gateway_restart": "gateway"}
"""Fault kinds that stop a process and start a new one, and the part they hit."""
RESTARTED: Final = "counts from zero after the restart"

Count = int | float


@dataclass(frozen=True, slots=True)
class HopRow:
    hop: str
    unit: str
    received: Count | None
    sent: Count | None
    retried: Count | None
    dropped: Count | None
    drop_reasons: tuple[tuple[str, Count], ...]
    queued: Count | None
    restarted: str = ""
    """Why the hop's process was restarted during the scenario ("" when it was not)."""


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


def count(value: float | None) -> Count | None:
    """A counter delta as a number (``counters.whole``); None where the hop has no such counter."""
    return None if value is None else c.whole(value)


def _reasons(samples: Samples, names: tuple[str, ...]) -> tuple[tuple[str, Count], ...]:
    by = c.by_label(samples, "reason", *names)
    return tuple((reason or "unlabelled", count(v) or 0) for reason, v in sorted(by.items()) if v)


def restarted_parts(scenario: Mapping[str, Any]) -> dict[str, str]:
    """Part kind -> why its process was restarted during the scenario: an applied kill or restart
    fault on the timeline, or a restart by the supervisor (``settings.supervisor.restarts``, whose
    part names are ``exporter``, ``exporter-2``, ...)."""
    out: dict[str, str] = {}
    for r in as_dicts(scenario.get("timeline")):
        kind = as_str(r.get("kind"))
        if kind in RESTART_FAULTS and as_str(r.get("op")) == "apply" and not r.get("error"):
            out.setdefault(RESTART_FAULTS[kind], f"fault {as_str(r.get('fault'), kind)} ({kind})")
    supervisor = as_dict(as_dict(scenario.get("settings")).get("supervisor"))
    for part, n in sorted(as_dict(supervisor.get("restarts")).items()):
        times = as_float(n) or 0
        if times > 0:
            out.setdefault(as_str(part).split("-")[0], f"restarted by the supervisor {times:g} time(s)")
    return out


def hop_rows(counters: Any, scenario: Mapping[str, Any] | None = None) -> tuple[HopRow, ...]:
    """One row per hop that exposed at least one of its counters; with the scenario, each hop
    whose process restarted says so (module docstring)."""
    values = {k: f for k, v in as_dict(counters).items() if (f := as_float(v)) is not None}
    samples = c.as_samples(values)
    restarts = restarted_parts(scenario or {})
    rows = []
    for hop in HOPS:
        cells = [count(c.found(samples, names)) for names in (hop.received, hop.sent, hop.retried, hop.dropped,
                                                              hop.queued)]
        if any(v is not None for v in cells):
            why = restarts.get(hop.part, "")
            rows.append(HopRow(hop.name, hop.unit, cells[0], cells[1], cells[2], cells[3],
                               _reasons(samples, hop.dropped), cells[4], f"{why}: {RESTARTED}" if why else ""))
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
