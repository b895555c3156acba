"""Shared statistics: nearest-rank percentiles, a seeded bootstrap CI of a p99 difference that is
deterministic for its seed, and the coefficient of variation used for jitter detection."""

from __future__ import annotations

import random

import pytest

from testbed.load.stats import bootstrap_delta, coefficient_of_variation, percentile


@pytest.mark.parametrize(("p", "expected"), [(0, 1), (50, 50), (99, 99), (99.9, 100), (100, 100)])
def test_nearest_rank_percentile(p: float, expected: int) -> None:
    assert percentile(list(range(100, 0, -1)), p) == expected


def test_percentile_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)


def test_bootstrap_is_deterministic_per_seed_and_brackets_the_point() -> None:
    rng = random.Random(1)
    a = [rng.gauss(10, 1) for _ in range(400)]
    b = [rng.gauss(13, 1) for _ in range(400)]
    one = bootstrap_delta(a, b, resamples=300, seed=4)
    assert one == bootstrap_delta(a, b, resamples=300, seed=4)
    assert one != bootstrap_delta(a, b, resamples=300, seed=5)
    assert one.low <= one.point <= one.high and one.low > 1.5


def test_coefficient_of_variation() -> None:
    assert coefficient_of_variation([1.0, 1.0, 1.0]) == 0
    assert coefficient_of_variation([1.0, 3.0]) == pytest.approx(0.5)
