"""The service graph from parent/child links across services. Pure.

Nodes are services (``service.name`` of the span's resource). A node's calls are its entry spans:
roots, and spans whose parent is in another service or was never received. An edge A -> B counts
each span of B whose parent span belongs to A. A CLIENT span with no child in another service
calls a peer that sends no spans; it makes a *virtual* node named by ``peer.service``,
``gen_ai.provider.name`` or ``server.address`` (in that order), when one is present.

For nodes and edges: call count, error rate (status ERROR) and p50/p99 duration in ms
(nearest-rank percentiles).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from fake_middleware.model import StoredSpan

_PEER_KEYS: Final = ("peer.service", "gen_ai.provider.name", "server.address")
_ERROR: Final = 2


@dataclass(slots=True)
class _Calls:
    durations_ns: list[int] = field(default_factory=list)
    errors: int = 0

    def add(self, span: StoredSpan) -> None:
        self.durations_ns.append(span.duration_ns)
        self.errors += span.status_code == _ERROR

    def summary(self) -> dict[str, Any]:
        n = len(self.durations_ns)
        ordered = sorted(self.durations_ns)
        return {"calls": n, "errors": self.errors, "error_rate": self.errors / n if n else 0.0,
                "p50_ms": percentile(ordered, 50) / 1e6 if n else None,
                "p99_ms": percentile(ordered, 99) / 1e6 if n else None}


def percentile(ordered: list[int], pct: float) -> float:
    """Nearest-rank percentile of an ascending list (not empty)."""
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return float(ordered[rank - 1])


def build_topology(spans: Iterable[StoredSpan]) -> dict[str, Any]:
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
        "edges": [{"source": a, "target": b, **calls.summary()} for (a, b), calls in sorted(edges.items())],
    }


def _peer(span: StoredSpan) -> str | None:
    for key in _PEER_KEYS:
        value = span.attr(key)
        if isinstance(value, str) and value:
            return value
    return None
