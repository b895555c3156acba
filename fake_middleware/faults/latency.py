"""FLT-01 latency: delay before the response headers; the request is still stored."""

from __future__ import annotations

import random

from fake_middleware.faults.base import BaseFault, Effect, FaultSpec


class Latency(BaseFault):
    kind = "latency"

    def __init__(self, spec: FaultSpec) -> None:
        super().__init__(spec)
        self.latency_ms = self.number("latency_ms", 1000)
        self.jitter_ms = self.number("jitter_ms", 0)
        # Jitter draws come from the fault's own seeded RNG so a run is reproducible.
        self._rng = random.Random(f"{spec.params.get('seed', 0)}:{spec.name}:jitter")

    def effect(self, index: int) -> Effect:
        jitter = self._rng.uniform(-self.jitter_ms, self.jitter_ms) if self.jitter_ms else 0.0
        return Effect(delay_s=max(0.0, self.latency_ms + jitter) / 1000)
