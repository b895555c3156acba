"""The fault catalogue of SPEC section 10 as data: which kinds exist, which targets each may hit,
and which parameters each takes (pure).

Scenario loading validates every fault against this table, so a typo or a kind that makes no sense
for its target (``partial_success`` on a provider) fails at load time with the key path, not in
the middle of a run. The table is explicit; nothing registers itself at import time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Target = Literal["ingest", "provider", "bus", "exporter", "gateway"]
TARGETS: Final[tuple[str, ...]] = ("ingest", "provider", "bus", "exporter", "gateway")
COMMON_FIELDS: Final = frozenset(("name", "kind", "target", "at_s", "duration_s", "times", "probability", "match"))
MATCH_KEYS: Final = frozenset(("path", "model", "tenant"))


@dataclass(frozen=True, slots=True)
class FaultKind:
    spec_id: str
    kind: str
    targets: frozenset[str]
    params: frozenset[str]
    """Parameters accepted besides the common fields; each is (name -> expected type) in TYPES."""


# Parameter name -> what the value must be: "number" (>= 0), "int" (>= 0), "bool", "str", "any".
PARAM_TYPES: Final[dict[str, str]] = {
    "latency_ms": "number", "jitter_ms": "number", "hold_ms": "number", "after_bytes": "int",
    "bytes_per_s": "number", "chunk_bytes": "int", "body_bytes": "int", "status": "int",
    "then_status": "int", "body": "str", "headers": "any", "retry_after": "any",
    "retry_after_format": "str", "retry_after_ms": "number", "rejected": "number",
    "error_message": "str", "max_request_bytes": "int", "mode": "str", "keys": "any", "bytes": "int",
    "after_chunks": "int", "ttft_ms": "number", "itl_ms": "number", "tokens_per_chunk": "int",
    "error_type": "str", "finish_reason": "str", "on": "bool", "should_retry": "bool",
    "signal": "str", "after_spans": "int", "node": "int", "rolling": "bool",
}  # fmt: skip


def _k(spec_id: str, kind: str, targets: str, params: str = "") -> FaultKind:
    return FaultKind(spec_id, kind, frozenset(targets.split()), frozenset(params.split()))


CATALOGUE: Final[dict[str, FaultKind]] = {
    k.kind: k
    for k in (
        _k("FLT-01", "latency", "ingest provider", "latency_ms jitter_ms"),
        _k("FLT-02", "hang", "ingest provider", "hold_ms"),
        _k("FLT-03", "down", "ingest provider"),
        _k("FLT-04", "reset", "ingest provider", "after_bytes"),
        _k("FLT-05", "slow_body", "ingest provider", "bytes_per_s chunk_bytes body_bytes"),
        _k("FLT-06", "disconnect", "ingest"),
        _k("FLT-07", "status", "ingest provider", "status then_status body headers error_type"),
        _k("FLT-08", "throttle", "ingest provider", "status retry_after retry_after_format retry_after_ms"),
        _k("FLT-09", "partial_success", "ingest", "rejected error_message"),
        _k("FLT-10", "permanent", "ingest", "status body"),
        _k("FLT-11", "size_limit", "ingest", "max_request_bytes"),
        _k("FLT-12", "auth", "ingest", "mode keys"),
        _k("FLT-13", "big_response", "ingest", "bytes"),
        _k("FLT-14", "truncate", "provider", "after_chunks after_bytes"),
        _k("FLT-15", "stream_timing", "provider", "ttft_ms itl_ms jitter_ms tokens_per_chunk"),
        _k("FLT-16", "mid_stream_error", "provider", "after_chunks error_type"),
        _k("FLT-17", "overloaded", "provider"),
        _k("FLT-18", "finish", "provider", "finish_reason"),
        _k("FLT-19", "usage_chunk", "provider", "on"),
        _k("FLT-20", "should_retry", "provider", "should_retry"),
        # ``node``: on a NATS cluster, only that node (0-based) goes down, SIGKILLed unless signal TERM.
        _k("FLT-21", "bus_down", "bus", "node signal"),
        # ``rolling``: every exporter in turn is stopped (signal) and started again, one at a time.
        _k("FLT-22", "exporter_kill", "exporter", "signal after_spans rolling"),
        _k("FLT-23", "gateway_restart", "gateway", "signal"),
    )
}

SIGNALS: Final = frozenset(("KILL", "TERM"))

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
