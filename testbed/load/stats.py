"""Shared statistics for the isolation and latency checks: a seeded bootstrap confidence interval
of a percentile difference, median and coefficient of variation. Percentiles are the suite's one
nearest-rank definition, ``testbed.percentiles`` (re-exported here for older imports).

Pure and deterministic: the bootstrap draws from ``random.Random(seed)``, so the same inputs and
seed give the same interval on every machine.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from testbed.percentiles import percentile, ranked

__all__ = ["DeltaCI", "bootstrap_delta", "bootstrap_percentile_deltas", "bootstrap_statistic",
           "coefficient_of_variation", "median", "percentile", "ranked"]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def coefficient_of_variation(values: Sequence[float]) -> float:
    """Population standard deviation over the mean; inf for a zero mean, 0 for one value."""
    if len(values) < 2:
        return 0.0
    mean = statistics.fmean(values)
    return math.inf if mean == 0 else statistics.pstdev(values) / abs(mean)


@dataclass(frozen=True, slots=True)
class DeltaCI:
    """Point estimate and two-sided confidence interval of stat(b) − stat(a)."""

    point: float
    low: float
    high: float
    resamples: int
    seed: int


def bootstrap_delta(
    a: Sequence[float],
    b: Sequence[float],
    *,
    stat: Callable[[Sequence[float]], float] | None = None,
    resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> DeltaCI:
    """Seeded percentile bootstrap of stat(b) − stat(a), each group resampled with replacement
    independently. ``stat`` defaults to the p99."""
    if not a or not b:
        raise ValueError("bootstrap needs two non-empty samples")
    fn = stat or (lambda xs: percentile(xs, 99))
    rng = random.Random(seed)
    deltas = [fn(rng.choices(b, k=len(b))) - fn(rng.choices(a, k=len(a))) for _ in range(resamples)]
    return DeltaCI(fn(b) - fn(a), *_interval(deltas, confidence), resamples, seed)


def bootstrap_percentile_deltas(
    a: Sequence[float],
    b: Sequence[float],
    percentiles: Sequence[float] = (50, 90, 99),
    *,
    resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[float, DeltaCI]:
    """``bootstrap_delta`` for several percentiles at once (ISO-03): each resample is drawn and
    sorted once and every percentile is read from it, so p50, p90 and p99 share the draws."""
    if not a or not b:
        raise ValueError("bootstrap needs two non-empty samples")
    rng = random.Random(seed)
    deltas: dict[float, list[float]] = {p: [] for p in percentiles}
    for _ in range(resamples):
        rb, ra = sorted(rng.choices(b, k=len(b))), sorted(rng.choices(a, k=len(a)))
        for p in percentiles:
            deltas[p].append(ranked(rb, p) - ranked(ra, p))
    return {p: DeltaCI(percentile(b, p) - percentile(a, p), *_interval(deltas[p], confidence), resamples, seed)
            for p in percentiles}


def bootstrap_statistic(
    samples: Sequence[Sequence[float]],
    statistic: Callable[[Sequence[Sequence[float]]], float],
    *,
    resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> DeltaCI:
    """A seeded bootstrap CI of ``statistic`` over several independent samples, each resampled
    and sorted on its own; ``statistic`` reads sorted samples (``ranked`` gives a percentile).
    LAT-07 uses it for an overhead's excess over its budget, which compares three paths."""
    if any(not s for s in samples):
        raise ValueError("bootstrap needs non-empty samples")
    rng = random.Random(seed)
    values = [statistic([sorted(rng.choices(s, k=len(s))) for s in samples]) for _ in range(resamples)]
    return DeltaCI(statistic([sorted(s) for s in samples]), *_interval(values, confidence), resamples, seed)


def _interval(values: Sequence[float], confidence: float) -> tuple[float, float]:
    """The two-sided percentile interval of bootstrap values: nearest rank at (1 − confidence) / 2
    from each end."""
    if not 0 < confidence <= 1:
        raise ValueError(f"confidence out of range: {confidence}")
    ordered = sorted(values)
    tail = (1 - confidence) / 2 * 100
    return ranked(ordered, tail), ranked(ordered, 100 - tail)

