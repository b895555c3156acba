"""The live behaviour state of one app: the rule list, the ``times`` counters and the seeded RNG.

``decide`` is called once per request, on the event loop (no locking needed): it merges the
matched rule with the request's ``x-fake-*`` headers and decides whether the fault fires. A rule's
counter is keyed by its position and name; header-driven faults are counted per distinct set of
``x-fake-*`` values, so an SDK retry of the same request shares the counter with the first try.
``reset`` restores the start-up rules, zeroes every counter and reseeds the RNG.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from fake_providers.behaviours import BehaviourRule, header_overrides, merge, overrides_gate, select
from fake_providers.canned import canonical_json
from fake_providers.wire import Provider


@dataclass(frozen=True, slots=True)
class Decision:
    """The effective behaviour for one request."""

    rule: BehaviourRule
    fire: bool
    source: str | None
    overrides: dict[str, Any]

    def describe(self) -> dict[str, Any]:
        return {"rule": self.source, "headers": self.overrides or None, "fault_fired": self.fire}


class BehaviourStore:
    def __init__(self, initial: tuple[BehaviourRule, ...], seed: int) -> None:
        self._initial = initial
        self._seed = seed
        self.rules: tuple[BehaviourRule, ...] = initial
        self.counters: dict[str, int] = {}
        self.rng = random.Random(seed)

    def replace(self, rules: tuple[BehaviourRule, ...]) -> None:
        self.rules = rules
        self.counters.clear()

    def append(self, rule: BehaviourRule) -> None:
        self.rules = (*self.rules, rule)

    def reset(self) -> None:
        self.replace(self._initial)
        self.rng = random.Random(self._seed)

    def jitter_s(self, jitter_ms: float) -> float:
        return self.rng.uniform(0.0, jitter_ms) / 1000.0 if jitter_ms > 0 else 0.0

    def decide(self, model: str, provider: Provider, stream: bool, headers: dict[str, str]) -> Decision:
        """Raises BehaviourError when an ``x-fake-*`` header is invalid."""
        overrides = header_overrides(headers)
        matched = select(self.rules, model, provider)
        source = None
        if matched is not None:
            index = self.rules.index(matched)
            source = matched.name or f"behaviours[{index}]"
        rule = merge(matched, overrides) if overrides else (matched or BehaviourRule())
        if overrides_gate(overrides):
            key = "headers:" + canonical_json(overrides)
        else:
            key = f"rule:{source}"
        fire = rule.has_fault and rule.fault_applies(stream) and self._gate(rule, key)
        return Decision(rule, fire, source, overrides)

    def _gate(self, rule: BehaviourRule, key: str) -> bool:
        if rule.probability is not None and self.rng.random() >= rule.probability:
            return False
        fired = self.counters.get(key, 0)
        if rule.times is not None and fired >= rule.times:
            return False
        self.counters[key] = fired + 1
        return True
