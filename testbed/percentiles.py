"""The one percentile definition of the suite: nearest rank, exact. Pure; importable by the fakes.

The p-th percentile of n values is the smallest value with at least p% of the values at or below
it: the value at rank ``ceil(p / 100 * n)`` (at least 1) of the ascending order. It is always a
value that was observed, never an interpolation, and it is the definition HDR histograms use, so
an exact figure and an HDR figure of the same samples differ only by the histogram's precision.

Which figure each part uses, and why:

- Latency (LAT-04, LAT-05, LAT-07 figures; report tables and curves): HDR histograms
  (``testbed.load.histogram``, 3 significant digits). Latency samples run to hundreds of
  thousands, are merged across workers and are kept in results.json for ``compare``; a
  histogram holds them in a few kilobytes at 0.1% precision.
- Bootstrap confidence intervals (isolation ISO-01/ISO-03, latency LAT-07 and its overhead
  CIs): exact, over the raw samples, because each of the thousand resamples is a new sample
  (``testbed.load.stats`` reads percentiles of sorted resamples with ``ranked``).
- Isolation deltas (ISO-01): exact. Each mode has a few hundred to a few thousand requests,
  and the budget (5% of the healthy figure) is closer than HDR's precision would make worth
  arguing about.
- Small counts: send lag (LAT-03), delivery lag (LOSS-05), the ingest's topology edges and the
  signals check's per-window figures (SIG-01): exact; tens to hundreds of values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T", int, float)


def percentile(values: Sequence[T], p: float) -> T:
    """Nearest-rank percentile of values in any order. Raises ValueError on an empty sequence or
    a percentile outside 0..100."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile out of range: {p}")
    return ranked(sorted(values), p)


def ranked(ordered: Sequence[T], p: float) -> T:
    """Nearest-rank percentile of an already ascending, non-empty sequence (no sort, no checks:
    the bootstrap loops call it thousands of times)."""
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]
