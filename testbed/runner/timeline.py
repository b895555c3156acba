"""The fault timeline: a scenario's faults become ordered apply/clear actions (pure), and an
executor applies them at their times through one small adapter per target (I/O).

Targets and what applying means (SPEC 10):

- ``ingest``: ``POST /_faults`` on the fake ingest; clearing is ``DELETE /_faults/{name}``.
- ``provider``: a fault becomes a fake-provider behaviour rule selected by ``match.model``; the
  active fault rules go first (the first matching rule wins), then the scenario's own rules, and
  the whole list is ``PUT /_fake/behaviours`` on every change.
- ``bus``: stop nats-server; clearing starts it again on the same port and store.
- ``exporter``: kill it (SIGKILL, or SIGTERM with ``signal: TERM``); clearing starts a new one on
  the same durable consumer (at once when the fault has no duration).
- ``gateway``: restart the gateway under test with requests in flight.

A fault without ``duration_s`` is cleared when the load ends. Every application is recorded
with wall-clock nanoseconds (``time.time_ns``, the clock every hop of the stack stamps with).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from testbed.fault_catalogue import MATCH_KEYS
from testbed.runner.scenario import Fault

Op = Literal["apply", "clear"]


@dataclass(frozen=True, slots=True)
class Action:
    t_s: float
    op: Op
    fault: Fault


@dataclass(frozen=True, slots=True)
class TimelineRecord:
    """One application or clearing as it happened; ``error`` is set when the adapter failed."""

    fault: str
    kind: str
    target: str
    op: Op
    planned_s: float
    start_ns: int
    end_ns: int
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"fault": self.fault, "kind": self.kind, "target": self.target, "op": self.op,
                "planned_s": self.planned_s, "start_ns": str(self.start_ns), "end_ns": str(self.end_ns),
                "error": self.error}


def plan(faults: Sequence[Fault], load_duration_s: float) -> list[Action]:
    """Apply/clear actions ordered by time; at equal times clears go first, so back-to-back blocks
    of the same fault do not overlap."""
    keyed: list[tuple[float, int, Action]] = []
    for f in faults:
        keyed.append((f.at_s, 1, Action(f.at_s, "apply", f)))
        end = load_duration_s if f.duration_s is None else min(f.at_s + f.duration_s, load_duration_s)
        if f.target == "exporter" and f.duration_s is None:
            end = f.at_s  # a killed exporter comes back at once unless the fault says how long it stays dead
        end = max(end, f.at_s)
        # A zero-length fault clears right after its own apply, not before it.
        keyed.append((end, 2 if end == f.at_s else 0, Action(end, "clear", f)))
    return [a for _, _, a in sorted(keyed, key=lambda k: (k[0], k[1]))]


def provider_rule(fault: Fault) -> dict[str, Any]:
    """The fake-provider behaviour rule (docs/fake_providers.md) that realises a provider fault."""
    p = dict(fault.params)
    rule: dict[str, Any] = {"name": fault.name, "model": fault.match.get("model", "*")}
    k = fault.kind
    if k == "latency":
        rule.update({key: p[key] for key in ("latency_ms", "jitter_ms") if key in p})
    elif k == "hang":
        rule["hang"] = {"hold_ms": p.get("hold_ms", 0)}
    elif k in ("down", "reset"):
        # An HTTP fake cannot close one model's listener; a reset before the headers is the
        # nearest observable equivalent of a refused connection for that model.
        rule["reset"] = {"after_bytes": p.get("after_bytes", 0)}
    elif k == "slow_body":
        rule["slow_body"] = {key: p[key] for key in ("bytes_per_s", "chunk_bytes") if key in p}
    elif k in ("status", "throttle"):
        rule["status"] = p.get("status", 429 if k == "throttle" else 500)
        rule.update({key: p[key] for key in ("error_type", "retry_after", "retry_after_ms") if key in p})
    elif k == "truncate":
        rule["truncate"] = {key: p[key] for key in ("after_chunks", "after_bytes") if key in p} or {"after_chunks": 1}
    elif k == "stream_timing":
        rule.update({key: p[key] for key in ("ttft_ms", "itl_ms", "jitter_ms", "tokens_per_chunk") if key in p})
    elif k == "mid_stream_error":
        rule["mid_stream_error"] = {key: p[key] for key in ("after_chunks", "error_type") if key in p}
    elif k == "overloaded":
        rule["overloaded"] = True
    elif k == "finish":
        rule["finish_reason"] = p["finish_reason"]
    elif k == "usage_chunk":
        rule["usage_chunk"] = bool(p.get("on", True))
    elif k == "should_retry":
        rule["should_retry"] = bool(p.get("should_retry", True))
    if fault.times is not None:
        rule["times"] = fault.times
    if fault.probability is not None:
        rule["probability"] = fault.probability
    return rule


def ingest_fault_body(fault: Fault) -> dict[str, Any]:
    """The ``POST /_faults`` body for an ingest fault."""
    body: dict[str, Any] = {"name": fault.name, "kind": fault.kind, **dict(fault.params)}
    if fault.times is not None:
        body["times"] = fault.times
    if fault.probability is not None:
        body["probability"] = fault.probability
    match = {k: v for k, v in fault.match.items() if k in MATCH_KEYS["ingest"]}
    if match:
        body["match"] = match
    if fault.kind == "down" and fault.duration_s is not None:
        # ``down`` also closes the admin listener; a duration lets the ingest reopen by itself.
        body.setdefault("duration_ms", int(fault.duration_s * 1000))
    return body


# --- runtime -------------------------------------------------------------------------------------

class FaultAdapter(Protocol):
    """Applies and clears the faults of one target. Both are awaited from the load's event loop,
    so blocking work must go to a thread. ``clear`` of a fault not applied is a no-op."""

    async def apply(self, fault: Fault) -> None: ...

    async def clear(self, fault: Fault) -> None: ...


@dataclass
class ProviderRules:
    """The behaviour list the fake providers serve: active fault rules first, then the base."""

    base: tuple[Mapping[str, Any], ...] = ()
    active: dict[str, dict[str, Any]] = field(default_factory=dict)

    def rules(self) -> list[dict[str, Any]]:
        return [*self.active.values(), *(dict(r) for r in self.base)]


async def execute(
    actions: Sequence[Action],
    adapters: Mapping[str, FaultAdapter],
    *,
    start_monotonic: float,
    wall_ns: Callable[[], int] = time.time_ns,
) -> list[TimelineRecord]:
    """Run each action at ``start_monotonic + t_s``; an adapter failure is recorded, not raised,
    so one broken fault does not abort the load (the checks then see what really happened)."""
    records: list[TimelineRecord] = []
    loop = asyncio.get_running_loop()
    for action in actions:
        delay = start_monotonic + action.t_s - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)  # the timeline's schedule, like the load's arrivals
        f = action.fault
        started = wall_ns()
        error = None
        try:
            adapter = adapters[f.target]
            await (adapter.apply(f) if action.op == "apply" else adapter.clear(f))
        except Exception as exc:  # recorded on the timeline and reported with the scenario
            error = f"{type(exc).__name__}: {exc}"
        records.append(TimelineRecord(f.name, f.kind, f.target, action.op, action.t_s, started, wall_ns(), error))
    return records
