"""The set of active faults: selection per request, seeded probability, ``times``, the timeline.

Every event is put on the timeline with a wall-clock timestamp in ns: ``added``, ``applied``
(with the request id), ``exhausted``, ``cleared``. Selection is deterministic for a given seed and
request order: each fault draws from its own RNG seeded with (seed, fault name).

Faults acting on the listener (``down``) call the listener hooks a server installs; without hooks
they are refused, because nothing could close the port.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from fake_middleware.faults.base import BaseFault, Effect, FaultSpec, FaultSpecError, Target
from fake_middleware.faults.registry import build
from fake_middleware.notify import Notifier


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    t_ns: int
    event: str
    name: str
    kind: str
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"t_ns": self.t_ns, "event": self.event, "name": self.name, "kind": self.kind, **self.detail}


@dataclass(slots=True)
class _Active:
    fault: BaseFault
    rng: random.Random
    cleared: asyncio.Event
    applied: int = 0
    seen: int = 0


ListenerHook = Callable[[BaseFault, bool], None]
"""Called with (fault, down) when a listener fault is added (True) or cleared (False)."""


class FaultSet:
    """Active faults of one ingest app; all methods run on its event loop."""

    def __init__(self, seed: int = 0, clock_ns: Callable[[], int] = time.time_ns) -> None:
        self.seed = seed
        self._clock_ns = clock_ns
        self._active: OrderedDict[str, _Active] = OrderedDict()
        self.timeline: list[TimelineEntry] = []
        self.listener_hook: ListenerHook | None = None
        self._auto_names = 0
        self.notifier = Notifier()

    def next_name(self, kind: str) -> str:
        self._auto_names += 1
        return f"{kind}-{self._auto_names}"

    def add(self, spec: FaultSpec) -> BaseFault:
        """Activate a fault; FaultSpecError for a bad spec or a name already in use."""
        if spec.name in self._active:
            raise FaultSpecError(f"name: a fault named {spec.name!r} is already active")
        fault = build(spec)
        if fault.on_listener and self.listener_hook is None:
            raise FaultSpecError(f"kind: {spec.kind!r} needs a server that owns its listener (MiddlewareServer)")
        self._active[spec.name] = _Active(fault, random.Random(f"{self.seed}:{spec.name}"), asyncio.Event())
        self._record("added", fault, spec=spec.to_dict())
        if fault.on_listener:
            assert self.listener_hook is not None
            self.listener_hook(fault, True)
            self._note_applied(self._active[spec.name], None)
        return fault

    def remove(self, name: str) -> bool:
        active = self._active.pop(name, None)
        if active is None:
            return False
        active.cleared.set()
        self._record("cleared", active.fault, applied=active.applied)
        if active.fault.on_listener and self.listener_hook is not None:
            self.listener_hook(active.fault, False)
        return True

    def reset(self) -> None:
        """Clear every fault: normal service is restored."""
        for name in list(self._active):
            self.remove(name)

    def list(self) -> list[dict[str, Any]]:
        return [{**a.fault.spec.to_dict(), "applied": a.applied, "matched": a.seen,
                 "exhausted": a.fault.exhausted(a.applied)} for a in self._active.values()]

    def has(self, name: str) -> bool:
        return name in self._active

    def cleared_event(self, name: str) -> asyncio.Event:
        """Set when fault ``name`` is cleared; a hang without ``hold_ms`` waits on it."""
        active = self._active.get(name)
        if active is None:
            done = asyncio.Event()
            done.set()
            return done
        return active.cleared

    def select(self, stage: Literal["config", "request"], target: Target, request_id: int | None) -> tuple[Effect, list[str]]:
        """The merged effect of the faults that apply to this request now, and their names."""
        effects: list[Effect] = []
        names: list[str] = []
        for name, active in self._active.items():
            fault = active.fault
            if fault.stage != stage or fault.on_listener or not _matches(fault.spec, target):
                continue
            if fault.exhausted(active.applied):
                continue
            active.seen += 1
            if fault.spec.probability < 1.0 and active.rng.random() >= fault.spec.probability:
                continue
            effects.append(replace(fault.effect(active.applied), source=name))
            names.append(name)
            self._note_applied(active, request_id)
        return merge(effects), names

    def _note_applied(self, active: _Active, request_id: int | None) -> None:
        active.applied += 1
        self._record("applied", active.fault, request_id=request_id, n=active.applied)
        if active.fault.exhausted(active.applied):
            self._record("exhausted", active.fault, applied=active.applied)

    def _record(self, event: str, fault: BaseFault, **detail: Any) -> None:
        self.timeline.append(TimelineEntry(self._clock_ns(), event, fault.spec.name, fault.spec.kind, detail))
        self.notifier.changed()

    async def wait_until(self, condition: Callable[[FaultSet], Any], timeout: float, what: str = "condition") -> Any:
        """Wait until ``condition(faults)`` holds, re-checked on every timeline event."""
        return await self.notifier.wait_until(lambda: condition(self), timeout, what)


def _matches(spec: FaultSpec, target: Target) -> bool:
    path = spec.match.get("path")
    if path is not None and path != target.path:
        return False
    tenant = spec.match.get("tenant")
    return tenant is None or tenant == target.tenant


def merge(effects: list[Effect]) -> Effect:
    """One effect from several: delays add up, the first terminal action wins, limits take the minimum."""
    if not effects:
        return Effect()
    merged = Effect(delay_s=sum(e.delay_s for e in effects))
    for effect in effects:
        if merged.action == "none" and effect.action != "none":
            merged = replace(merged, action=effect.action, hold_s=effect.hold_s, after_bytes=effect.after_bytes,
                             status=effect.status, message=effect.message, headers=effect.headers,
                             source=effect.source)
        if merged.reject is None and effect.reject is not None:
            merged = replace(merged, reject=effect.reject, reject_message=effect.reject_message)
        if effect.pad_bytes > merged.pad_bytes:
            merged = replace(merged, pad_bytes=effect.pad_bytes)
        if merged.bytes_per_s is None and effect.bytes_per_s is not None:
            merged = replace(merged, bytes_per_s=effect.bytes_per_s, chunk_bytes=effect.chunk_bytes)
        if effect.max_request_bytes is not None:
            limits = [x for x in (merged.max_request_bytes, effect.max_request_bytes) if x is not None]
            merged = replace(merged, max_request_bytes=min(limits))
        if effect.auth_mode is not None:
            merged = replace(merged, auth_mode=effect.auth_mode, keys=effect.keys)
    return merged
