"""Shared statistics: seeded bootstrap CIs of percentile differences that are
deterministic for its seed, and the coefficient of variation used for jitter detection."""

from __future__ import annotations

import random

import pytest

from testbed.load.stats import bootstrap_delta, coefficient_of_variation
from testbed.percentiles import percentile


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


def test_percentile_deltas_share_draws_and_bracket_each_point_ISO_03() -> None:
    from testbed.load.stats import bootstrap_percentile_deltas

    rng = random.Random(3)
    a = [10 + rng.random() for _ in range(400)]
    b = [10.5 + rng.random() for _ in range(400)]
    cis = bootstrap_percentile_deltas(a, b, (50, 90, 99), resamples=200, seed=5)
    assert cis == bootstrap_percentile_deltas(a, b, (50, 90, 99), resamples=200, seed=5)
    assert cis != bootstrap_percentile_deltas(a, b, (50, 90, 99), resamples=200, seed=6)
    for p, ci in cis.items():
        assert ci.point == percentile(b, p) - percentile(a, p)
        assert ci.low <= ci.point <= ci.high
    assert 0.3 < cis[50].low and cis[50].high < 0.7
