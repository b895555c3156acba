"""The service graph from parent/child links across services. Pure.

Nodes are services (``service.name`` of the span's resource). A node's calls are its entry spans:
roots, and spans whose parent is in another service or was never received. An edge A -> B counts
each span of B whose parent span belongs to A. A CLIENT span with no child in another service
calls a peer that sends no spans; it makes a *virtual* node named by ``peer.service``,
``gen_ai.provider.name`` or ``server.address`` (in that order), when one is present.

For nodes and edges: call count, error rate (status ERROR) and p50/p99 duration in ms
(nearest-rank percentiles, ``testbed.percentiles``). With ``window_ns``, every edge also lists the same figures per window
of its spans' start times (windows aligned on multiples of ``window_ns`` since the epoch), so a
caller -> provider edge shows when its latency or errors changed (SIG-01).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from fake_middleware.model import StoredSpan
from testbed.percentiles import ranked

_PEER_KEYS: Final = ("peer.service", "gen_ai.provider.name", "server.address")
_ERROR: Final = 2


@dataclass(slots=True)
class _Calls:
    durations_ns: list[int] = field(default_factory=list)
    errors: int = 0
    starts_ns: list[int] = field(default_factory=list)
    failed: list[bool] = field(default_factory=list)

    def add(self, span: StoredSpan) -> None:
        self.durations_ns.append(span.duration_ns)
        self.errors += span.status_code == _ERROR
        self.starts_ns.append(span.start_ns)
        self.failed.append(span.status_code == _ERROR)

    def windows(self, window_ns: int) -> list[dict[str, Any]]:
        """The summary per window of start times, oldest first."""
        by_window: dict[int, _Calls] = {}
        for start, duration, failed in zip(self.starts_ns, self.durations_ns, self.failed):
            calls = by_window.setdefault(start // window_ns * window_ns, _Calls())
            calls.durations_ns.append(duration)
            calls.errors += failed
        return [{"start_ns": w, "end_ns": w + window_ns, **c.summary()} for w, c in sorted(by_window.items())]

    def summary(self) -> dict[str, Any]:
        n = len(self.durations_ns)
        ordered = sorted(self.durations_ns)
        return {"calls": n, "errors": self.errors, "error_rate": self.errors / n if n else 0.0,
                "p50_ms": ranked(ordered, 50) / 1e6 if n else None,
                "p99_ms": ranked(ordered, 99) / 1e6 if n else None}


def build_topology(spans: Iterable[StoredSpan], window_ns: int | None = None) -> dict[str, Any]:
    """``{"nodes": [...], "edges": [...]}`` for the given spans (see the module docstring)."""
    spans = list(spans)
    by_key = {(s.trace_id, s.span_id): s for s in spans}
    nodes: dict[str, _Calls] = {}
    virtual: set[str] = set()
    span_counts: dict[str, int] = {}
    edges: dict[tuple[str, str], _Calls] = {}
    called_out: set[tuple[str, str]] = set()
    for span in spans:
        service = span.service
        span_counts[service] = span_counts.get(service, 0) + 1
        nodes.setdefault(service, _Calls())
        parent = by_key.get((span.trace_id, span.parent_span_id)) if span.parent_span_id else None
        if parent is None or parent.service != service:
            nodes[service].add(span)
        if parent is not None and parent.service != service:
            edges.setdefault((parent.service, service), _Calls()).add(span)
            called_out.add(parent.key)
    for span in spans:
        if span.kind == 3 and span.key not in called_out and (peer := _peer(span)):
            virtual.add(peer)
            nodes.setdefault(peer, _Calls())
            edges.setdefault((span.service, peer), _Calls()).add(span)
            nodes[peer].add(span)
    return {
        "nodes": [{"service": name, "virtual": name in virtual and name not in span_counts,
                   "spans": span_counts.get(name, 0), **calls.summary()}
                  for name, calls in sorted(nodes.items())],
        "edges": [{"source": a, "target": b, **calls.summary(),
                   **({"window_ns": window_ns, "windows": calls.windows(window_ns)} if window_ns else {})}
                  for (a, b), calls in sorted(edges.items())],
    }


def _peer(span: StoredSpan) -> str | None:
    for key in _PEER_KEYS:
        value = span.attr(key)
        if isinstance(value, str) and value:
            return value
    return None


def parse_window(text: str | None) -> int | None:
    """``window_s`` (seconds, > 0, at most a day) as nanoseconds; None when absent."""
    if text is None:
        return None
    try:
        seconds = float(text)
    except ValueError:
        raise ValueError(f"window_s: expected seconds, got {text!r}") from None
    if not 0 < seconds <= 86_400:
        raise ValueError("window_s: must be > 0 and at most 86400")
    return int(seconds * 1e9)
