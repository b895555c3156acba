"""Signals at the ingest (SPEC 13, SIG-01..04): topology, infrastructure correlation, anomalies.

- SIG-01: every (service -> provider) edge of the GenAI CLIENT spans is in the ingest's topology
  with the spans' call count, error count and nearest-rank p50/p99, and its windows add up to it.
- SIG-02: every ``host.name``, ``k8s.pod.name``, ``k8s.namespace.name`` and
  ``service.instance.id`` value on a span's resource finds exactly the spans carrying it; the
  reference gateway's spans always carry ``host.name`` and ``service.instance.id``.
- SIG-03: a provider fault that should raise an anomaly (``SIGNAL_OF_FAULT``) and starts after the
  baseline could form raises it in the window of its start or the next one. The detection delay
  (fired minus fault start) is reported.
- SIG-04: a signal no fault explains (same kind, window overlapping the fault plus two windows) is a
  false alarm; a healthy run must have none.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from testbed.checks.evidence import Evidence, SpanView
from testbed.checks.result import CheckResult, FindingSink, conclude
from testbed.checks.signal_evidence import INFRA_KEYS, SIGNAL_OF_FAULT, FaultWindow, SignalEvidence
from testbed.percentiles import ranked

NAME = "signals"
SPEC_IDS = ("SIG-01", "SIG-02", "SIG-03", "SIG-04")
MIN_BASELINE_WINDOWS = 3
"""Windows the detector needs before a fault can be told from the baseline (fake_middleware.anomaly)."""


class SignalsCheck:
    name = NAME
    spec_ids = SPEC_IDS

    def run(self, evidence: Evidence) -> CheckResult:
        st = evidence.settings
        sink = FindingSink(NAME, st.convention, st.name)
        ev: SignalEvidence | None = getattr(evidence, "signals", None)
        if ev is None:
            return conclude(NAME, SPEC_IDS, (), judged={"edges": 0}, inconclusive="no signal evidence was collected")
        genai = [s for s in evidence.spans if s.kind == 3 and "gen_ai.operation.name" in s.attributes]
        edges = check_topology(genai, ev.topology, sink)
        values = check_infrastructure(evidence.spans, ev.resource_counts, st.reference_gateway, sink)
        delays, judged_faults = check_detection(ev, sink)
        false_alarms = check_false_alarms(ev, sink)
        return conclude(NAME, SPEC_IDS, sink.findings,
                        judged={"edges": edges, "resource_values": values, "faults": judged_faults,
                                "windows": ev.windows_judged},
                        details={"signals": len(ev.signals), "false_alarms": false_alarms,
                                 "detection_delay_ms": delays, "window_ms": ev.window_ns / 1e6})


# --- SIG-01 --------------------------------------------------------------------------------------

def check_topology(spans: Sequence[SpanView], topology: Mapping[str, Any], sink: FindingSink) -> int:
    expected: dict[tuple[str, str], list[SpanView]] = defaultdict(list)
    for s in spans:
        service, provider = s.resource.get("service.name"), s.attributes.get("gen_ai.provider.name")
        if service is not None and provider is not None:
            expected[(str(service.plain()), str(provider.plain()))].append(s)
    got = {(str(e.get("source")), str(e.get("target"))): e for e in topology.get("edges") or ()}
    for (source, target), members in sorted(expected.items()):
        edge = got.get((source, target))
        ids = {"edge": f"{source} -> {target}"}
        if edge is None:
            sink.add("SIG-01", "violation", "missing", f"the topology has no edge {source} -> {target}", **ids)
            continue
        durations = sorted(s.duration_ns for s in members)
        errors = sum(1 for s in members if s.status_code == 2)
        want = {"calls": len(members), "errors": errors,
                "p50_ms": ranked(durations, 50) / 1e6, "p99_ms": ranked(durations, 99) / 1e6}
        for key, value in want.items():
            actual = edge.get(key)
            if not isinstance(actual, (int, float)) or abs(actual - value) > 1e-6:
                sink.add("SIG-01", "violation", "value", f"edge {source} -> {target}: {key} is {actual}, spans say "
                         f"{value}", attribute=key, expected=value, actual=actual, **ids)
        windows = edge.get("windows")
        if isinstance(windows, list) and sum(int(w.get("calls", 0)) for w in windows) != len(members):
            sink.add("SIG-01", "violation", "value", f"edge {source} -> {target}: its windows do not add up to its "
                     "calls", expected=len(members), **ids)
    return len(expected)


# --- SIG-02 --------------------------------------------------------------------------------------

def check_infrastructure(spans: Sequence[SpanView], counts: Mapping[tuple[str, str], int], reference: bool,
                         sink: FindingSink) -> int:
    carrying: dict[tuple[str, str], int] = defaultdict(int)
    for s in spans:
        for key in INFRA_KEYS:
            tv = s.resource.get(key)
            if tv is not None:
                carrying[(key, str(tv.plain()))] += 1
        if reference and s.scope_name == "testbed.gateway":
            missing = [k for k in ("host.name", "service.instance.id") if k not in s.resource]
            if missing:
                sink.add("SIG-02", "violation", "missing", f"a gateway span's resource lacks {missing}",
                         trace_id=s.trace_id, span_id=s.span_id, attribute=", ".join(missing))
    for (key, value), want in sorted(carrying.items()):
        found = counts.get((key, value))
        if found != want:
            sink.add("SIG-02", "violation", "value", f"querying spans by {key}={value} found {found}, not {want}",
                     attribute=key, expected=want, actual=found)
    return len(carrying)


# --- SIG-03 / SIG-04 -----------------------------------------------------------------------------

def _window(signal: Mapping[str, Any]) -> tuple[int, int]:
    w = signal.get("window") or {}
    return int(w.get("start_ns", 0)), int(w.get("end_ns", 0))


def check_detection(ev: SignalEvidence, sink: FindingSink) -> tuple[list[float], int]:
    """SIG-03 per fault that should raise a signal; returns the detection delays (ms) and faults judged."""
    delays: list[float] = []
    judged = 0
    for fault in ev.faults:
        kind = SIGNAL_OF_FAULT.get(fault.kind)
        if fault.target != "provider" or kind is None:
            continue
        if ev.load_start_ns is None or fault.start_ns < ev.load_start_ns + (MIN_BASELINE_WINDOWS + 1) * ev.window_ns:
            sink.add("SIG-03", "info", "timing", f"fault {fault.name} starts before a baseline could form; "
                     "not judged", fault=fault.name)
            continue
        judged += 1
        hits = sorted((s for s in ev.signals if s.get("kind") == kind and _window(s)[1] > fault.start_ns),
                      key=lambda s: _window(s)[0])
        if not hits:
            sink.add("SIG-03", "violation", "missing", f"fault {fault.name} ({fault.kind}) raised no {kind} signal",
                     fault=fault.name, expected=kind)
            continue
        first = hits[0]
        delays.append(round((int(first.get("fired_ns", 0)) - fault.start_ns) / 1e6, 1))
        if _window(first)[0] > fault.start_ns + ev.window_ns:
            sink.add("SIG-03", "violation", "timing", f"the first {kind} signal for fault {fault.name} is more than "
                     "one window after its start", fault=fault.name,
                     expected=f"window start <= {fault.start_ns + ev.window_ns}", actual=_window(first)[0])
    return delays, judged


def _explains(fault: FaultWindow, signal: Mapping[str, Any], window_ns: int) -> bool:
    if SIGNAL_OF_FAULT.get(fault.kind) != signal.get("kind"):
        return False
    start, end = _window(signal)
    until = (fault.end_ns if fault.end_ns is not None else 2**63) + 2 * window_ns
    return end > fault.start_ns and start < until


def check_false_alarms(ev: SignalEvidence, sink: FindingSink) -> int:
    alarms = [s for s in ev.signals if not any(_explains(f, s, ev.window_ns) for f in ev.faults)]
    for s in alarms:
        sink.add("SIG-04", "violation", "value", f"false alarm: {s.get('kind')} with no fault to explain it "
                 f"({s.get('explanation', '')})", subject=s.get("subject"), window=s.get("window"))
    return len(alarms)
