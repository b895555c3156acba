"""Model resolution and routing, in memory and pure.

A model name maps to one or more targets. :meth:`Router.plan` orders them for one request: a
weighted draw without replacement over the targets with weight > 0 (so the heaviest target is
tried first most often, and every other one follows as a fallback), then the weight-0 targets in
config order (fallback only). Each target appears ``1 + retries`` times in a row, the repeats
carrying ``resend_count`` 1, 2, ... (``http.request.resend_count``, GW-02).
The random source is injected so tests can seed it.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from testbed.gateway.config import ModelConfig, TargetConfig

RETRYABLE_STATUSES: Final = frozenset({408, 429})


@dataclass(frozen=True, slots=True)
class PlannedAttempt:
    target: TargetConfig
    resend_count: int = 0


def is_retryable_status(status: int) -> bool:
    """Fall back to the next attempt on 408, 429 and every 5xx (a 4xx is the caller's fault)."""
    return status in RETRYABLE_STATUSES or status >= 500


class Router:
    """Orders the targets of a model for one request."""

    def __init__(self, models: Mapping[str, ModelConfig], rng: random.Random | None = None) -> None:
        self._models = dict(models)
        self._rng = rng or random.Random()

    def knows(self, model: str) -> bool:
        return model in self._models

    def model_names(self) -> list[str]:
        return list(self._models)

    def plan(self, model: str) -> list[PlannedAttempt]:
        """Attempts in order for ``model``; empty when the model is unknown."""
        config = self._models.get(model)
        if config is None:
            return []
        return [
            PlannedAttempt(target, resend)
            for target in self.order(config.targets)
            for resend in range(target.retries + 1)
        ]

    def order(self, targets: tuple[TargetConfig, ...]) -> list[TargetConfig]:
        if len(targets) == 1:
            return [targets[0]]
        weighted = [t for t in targets if t.weight > 0]
        ordered: list[TargetConfig] = []
        while weighted:
            pick = self._rng.uniform(0.0, sum(t.weight for t in weighted))
            index = _index_at(weighted, pick)
            ordered.append(weighted.pop(index))
        ordered.extend(t for t in targets if t.weight == 0)
        return ordered


def _index_at(targets: list[TargetConfig], pick: float) -> int:
    cumulative = 0.0
    for i, target in enumerate(targets):
        cumulative += target.weight
        if pick < cumulative:
            return i
    return len(targets) - 1
