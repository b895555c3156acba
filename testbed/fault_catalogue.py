"""The fault catalogue of SPEC section 10 as data, defined once (pure): which kinds exist, which
targets each may hit, which parameters each takes on each target and of what type, and which match
keys select requests on each target.

Both sides read this table: scenario loading (``testbed/runner/scenario_schema.py``), so a typo or
a kind that makes no sense for its target (``partial_success`` on a provider) fails at load time
with the key path; and the fake ingest (``fake_middleware/faults/``), whose ``POST /_faults``
accepts exactly the ``ingest`` parameters and match keys listed here. A parameter a target would
ignore is therefore refused on both sides rather than dropped on the way. The table is explicit;
nothing registers itself at import time. This module imports nothing of the testbed, so the fakes
may import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal

Target = Literal["ingest", "provider", "bus", "exporter", "gateway"]
TARGETS: Final[tuple[str, ...]] = ("ingest", "provider", "bus", "exporter", "gateway")
COMMON_FIELDS: Final = frozenset(("name", "kind", "target", "times", "probability", "match"))
"""Fields every fault has, wherever it is written (a scenario or ``POST /_faults``)."""
TIMELINE_FIELDS: Final = frozenset(("at_s", "duration_s"))
"""Fields a scenario's fault adds: when it starts and how long it lasts."""

MATCH_KEYS: Final[Mapping[str, frozenset[str]]] = MappingProxyType({
    # The ingest selects by request path and by the tenant the API key belongs to.
    "ingest": frozenset(("path", "tenant")),
    # A provider fault becomes a behaviour rule, and those select by model name only.
    "provider": frozenset(("model",)),
    "bus": frozenset(), "exporter": frozenset(), "gateway": frozenset(),
})
"""Target -> the ``match`` keys that select requests there (glob patterns as values)."""


@dataclass(frozen=True, slots=True)
class FaultKind:
    spec_id: str
    kind: str
    params_by_target: Mapping[str, frozenset[str]]
    """Target -> the parameters accepted there besides the common fields; types in PARAM_TYPES."""
    required: frozenset[str] = frozenset()
    """Parameters that have no default and must be given."""

    @property
    def targets(self) -> frozenset[str]:
        return frozenset(self.params_by_target)

    @property
    def params(self) -> frozenset[str]:
        """Every parameter of the kind, on any target."""
        return frozenset().union(*self.params_by_target.values())

    def params_for(self, target: str) -> frozenset[str]:
        return self.params_by_target.get(target, frozenset())

    def problem(self, target: str, match: Mapping[str, object], params: Mapping[str, object]) -> tuple[str, str] | None:
        """The first (key path, message) that keeps a fault of this kind off ``target``, else None.
        Both sides word their refusals from here."""
        if target not in self.params_by_target:
            return "kind", (f"{self.kind} ({self.spec_id}) applies to {', '.join(sorted(self.targets))}, "
                            f"not to target {target!r}")
        for key in sorted(set(match) - MATCH_KEYS[target]):
            expected = ", ".join(sorted(MATCH_KEYS[target])) or "none"
            return f"match.{key}", f"a {target} fault does not select by {key!r} (match keys there: {expected})"
        allowed = self.params_for(target)
        for name in sorted(set(params) - allowed):
            return name, (f"{self.kind} on target {target!r} takes no parameter {name!r} "
                          f"(expected: {', '.join(sorted(allowed)) or 'none'})")
        for name in sorted(self.required - set(params)):
            return name, f"{self.kind} needs {name!r}"
        return None


# Parameter name -> what the value must be: "number" (>= 0), "int" (>= 0), "bool", "str", "any".
PARAM_TYPES: Final[Mapping[str, str]] = MappingProxyType({
    "latency_ms": "number", "jitter_ms": "number", "seed": "int", "hold_ms": "number", "duration_ms": "number",
    "after_bytes": "int", "bytes_per_s": "number", "chunk_bytes": "int", "body_bytes": "int", "status": "int",
    "then_status": "int", "body": "str", "headers": "any", "retry_after": "any",
    "retry_after_format": "str", "retry_after_ms": "number", "rejected": "number",
    "error_message": "str", "max_request_bytes": "int", "mode": "str", "keys": "any", "bytes": "int",
    "after_chunks": "int", "ttft_ms": "number", "itl_ms": "number", "tokens_per_chunk": "int",
    "error_type": "str", "finish_reason": "str", "on": "bool", "should_retry": "bool",
    "signal": "str", "after_spans": "int", "node": "int", "rolling": "bool",
})  # fmt: skip


def _k(spec_id: str, kind: str, required: str = "", **params_by_target: str) -> FaultKind:
    by_target = MappingProxyType({t: frozenset(p.split()) for t, p in params_by_target.items()})
    return FaultKind(spec_id, kind, by_target, frozenset(required.split()))


CATALOGUE: Final[Mapping[str, FaultKind]] = MappingProxyType({
    k.kind: k
    for k in (
        # ``seed``: the ingest's jitter draws are reproducible per seed.
        _k("FLT-01", "latency", ingest="latency_ms jitter_ms seed", provider="latency_ms jitter_ms"),
        _k("FLT-02", "hang", ingest="hold_ms", provider="hold_ms"),
        # ``duration_ms``: the ingest reopens its listener by itself (the runner sets it from duration_s).
        _k("FLT-03", "down", ingest="duration_ms", provider=""),
        _k("FLT-04", "reset", ingest="after_bytes", provider="after_bytes"),
        _k("FLT-05", "slow_body", ingest="bytes_per_s chunk_bytes body_bytes", provider="bytes_per_s chunk_bytes"),
        _k("FLT-06", "disconnect", ingest=""),
        _k("FLT-07", "status", ingest="status then_status body headers", provider="status error_type"),
        _k("FLT-08", "throttle", ingest="status retry_after retry_after_format",
           provider="status retry_after retry_after_ms"),
        _k("FLT-09", "partial_success", ingest="rejected error_message"),
        _k("FLT-10", "permanent", ingest="status body"),
        _k("FLT-11", "size_limit", ingest="max_request_bytes"),
        _k("FLT-12", "auth", ingest="mode keys"),
        _k("FLT-13", "big_response", ingest="bytes"),
        _k("FLT-14", "truncate", provider="after_chunks after_bytes"),
        _k("FLT-15", "stream_timing", provider="ttft_ms itl_ms jitter_ms tokens_per_chunk"),
        _k("FLT-16", "mid_stream_error", provider="after_chunks error_type"),
        _k("FLT-17", "overloaded", provider=""),
        _k("FLT-18", "finish", provider="finish_reason", required="finish_reason"),
        _k("FLT-19", "usage_chunk", provider="on"),
        _k("FLT-20", "should_retry", provider="should_retry"),
        # ``node``: on a NATS cluster, only that node (0-based) goes down, SIGKILLed unless signal TERM.
        _k("FLT-21", "bus_down", bus="node signal"),
        # ``rolling``: every exporter in turn is stopped (signal) and started again, one at a time.
        _k("FLT-22", "exporter_kill", exporter="signal after_spans rolling"),
        _k("FLT-23", "gateway_restart", gateway="signal"),
    )
})

SIGNALS: Final = frozenset(("KILL", "TERM"))


def kinds_for(target: str) -> frozenset[str]:
    """The kinds that may hit ``target``."""
    return frozenset(k.kind for k in CATALOGUE.values() if target in k.params_by_target)


# Ingest modes of the isolation timeline (SPEC 7) and the fault each one applies.
MODE_FAULTS: Final[dict[str, tuple[str, str, dict[str, object]]]] = {
    "slow": ("ingest", "latency", {"latency_ms": 5000}),
    "hang": ("ingest", "hang", {"hold_ms": 0}),
    "down": ("ingest", "down", {}),
    "throttled": ("ingest", "throttle", {"status": 429, "retry_after": 1}),
    "bus_down": ("bus", "bus_down", {}),
    # A NATS cluster's first node SIGKILLed for the block and started again at its end.
    "node_down": ("bus", "bus_down", {"node": 0, "signal": "KILL"}),
}
MODES: Final = frozenset(("healthy", *MODE_FAULTS))
