"""Open-loop arrival schedules (LAT-01, LAT-04), fixed before the run and fully deterministic.

``build_schedule`` turns a rate, a duration, an arrival process (``constant`` or ``poisson`` with
a seed) and a request mix into arrivals with intended offsets from the run's start. Paths
take turns round by round: each round has one slot per path (gateway, direct[, comparator]), so
every path sees the same rate and the same conditions, and consecutive slots of one round carry
the same mix item, so the paths are compared on the same payload. ``rate_per_s`` is the total
over all paths.

The order of the paths within a round is a seeded shuffle, not a fixed rotation. With a fixed
rotation and a constant rate, a provider latency that is a whole number of slots brings every
answer of one path back at the very moment another given path sends: the 20 ms answers of the
gateway path at 250 rps always met the comparator's next request on the way in, and the gateway's
overhead read twice the comparator's when the two hops cost about the same (docs/runner.md).
Shuffled rounds spread those meetings over every pair of paths alike (a randomised block design).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from testbed.errors import ConfigError

Process = Literal["constant", "poisson"]


@dataclass(frozen=True, slots=True)
class MixItem:
    """One kind of request in the workload, chosen with probability proportional to ``weight``."""

    name: str
    weight: float = 1.0
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Arrival:
    index: int
    offset_ns: int
    path: str
    item: MixItem


@dataclass(frozen=True, slots=True)
class Schedule:
    arrivals: tuple[Arrival, ...]
    rate_per_s: float
    duration_s: float
    process: Process
    seed: int

    def __len__(self) -> int:
        return len(self.arrivals)


def _offsets(rate: float, duration_s: float, process: Process, rng: random.Random) -> list[int]:
    end = int(duration_s * 1e9)
    if process == "constant":
        step = 1e9 / rate
        return [int(i * step) for i in range(int(duration_s * rate)) if int(i * step) < end]
    out, t = [], 0.0
    while True:
        t += rng.expovariate(rate) * 1e9
        if t >= end:
            return out
        out.append(int(t))


def build_schedule(
    rate_per_s: float,
    duration_s: float,
    *,
    process: Process = "constant",
    seed: int = 0,
    mix: Sequence[MixItem] = (MixItem("default"),),
    paths: Sequence[str] = ("gateway",),
) -> Schedule:
    """Arrivals for one run; the same arguments always give the same schedule."""
    if rate_per_s <= 0 or duration_s <= 0:
        raise ConfigError("workload: rate_per_s and duration_s must be positive")
    if process not in ("constant", "poisson"):
        raise ConfigError(f"workload.process: unknown arrival process {process!r}")
    if not mix or any(m.weight < 0 for m in mix) or sum(m.weight for m in mix) <= 0:
        raise ConfigError("workload.mix: needs at least one item with a positive weight")
    if not paths:
        raise ConfigError("workload.paths: needs at least one path")
    rng = random.Random(seed)
    offsets = _offsets(rate_per_s, duration_s, process, rng)
    weights = [m.weight for m in mix]
    items: list[MixItem] = []
    arrivals = []
    orders = random.Random(f"{seed}:paths")
    order: list[str] = list(paths)
    for i, off in enumerate(offsets):
        rnd, slot = divmod(i, len(paths))
        if slot == 0:
            items.append(rng.choices(list(mix), weights)[0])
            orders.shuffle(order)
        arrivals.append(Arrival(i, off, order[slot], items[rnd]))
    return Schedule(tuple(arrivals), rate_per_s, duration_s, process, seed)
