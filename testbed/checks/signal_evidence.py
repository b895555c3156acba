"""What the ``signals`` check judges besides the spans (SPEC 13): the ingest's topology per window,
span counts per infrastructure value, the anomaly signals, and when the faults were on. Pure values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

INFRA_KEYS: Final = ("host.name", "k8s.pod.name", "k8s.namespace.name", "service.instance.id")
"""Resource attributes the ingest must let spans be found by (SIG-02)."""

SIGNAL_OF_FAULT: Final = {
    "latency": "latency_spike", "stream_timing": "latency_spike", "hang": "latency_spike",
    "slow_body": "latency_spike", "finish": "finish_reason_shift", "status": "error_rate_rise",
    "throttle": "error_rate_rise", "overloaded": "error_rate_rise", "mid_stream_error": "error_rate_rise",
    "reset": "error_rate_rise", "down": "error_rate_rise",
}
"""The anomaly a provider fault must raise (SIG-03); other faults explain no signal."""


@dataclass(frozen=True, slots=True)
class FaultWindow:
    name: str
    kind: str
    target: str
    start_ns: int
    end_ns: int | None = None
    """None while the fault was never cleared."""


@dataclass(frozen=True, slots=True)
class SignalEvidence:
    window_ns: int
    signals: tuple[Mapping[str, Any], ...] = ()
    windows_judged: int = 0
    topology: Mapping[str, Any] = field(default_factory=dict)
    """The ingest's ``/api/v1/topology?window_s=...`` answer."""
    resource_counts: Mapping[tuple[str, str], int] = field(default_factory=dict)
    """(resource key, value) -> spans the ingest returned for ``resource_where=key==value``."""
    faults: tuple[FaultWindow, ...] = ()
    load_start_ns: int | None = None


def fault_windows(timeline: Any) -> tuple[FaultWindow, ...]:
    """Apply/clear records of the fault timeline (``TimelineRecord``-like) paired per fault."""
    open_: dict[str, Any] = {}
    out: list[FaultWindow] = []
    for r in timeline:
        if getattr(r, "error", None):
            continue
        if r.op == "apply":
            open_[r.fault] = r
        elif r.op == "clear" and r.fault in open_:
            a = open_.pop(r.fault)
            out.append(FaultWindow(a.fault, a.kind, a.target, a.end_ns, r.start_ns))
    out += [FaultWindow(a.fault, a.kind, a.target, a.end_ns) for a in open_.values()]
    return tuple(sorted(out, key=lambda f: f.start_ns))
