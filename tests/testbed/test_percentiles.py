"""The suite's one percentile definition (nearest rank) and its agreement with the HDR histograms."""

from __future__ import annotations

import random

import pytest

from testbed.load.histogram import LatencyHistogram
from testbed.percentiles import percentile, ranked


@pytest.mark.parametrize(("p", "expected"), [(0, 1), (1, 1), (50, 50), (99, 99), (99.9, 100), (100, 100)])
def test_nearest_rank_is_an_observed_value(p: float, expected: int) -> None:
    assert percentile(list(range(100, 0, -1)), p) == expected


def test_one_value_is_every_percentile() -> None:
    assert (percentile([7], 0), percentile([7], 50), percentile([7], 100)) == (7, 7, 7)


def test_ranked_reads_a_sorted_sequence_without_sorting() -> None:
    assert ranked([1, 2, 3, 4], 50) == 2 and ranked([4, 3, 2, 1], 50) == 3


@pytest.mark.parametrize("p", [-1, 100.5])
def test_percentile_out_of_range_is_an_error(p: float) -> None:
    with pytest.raises(ValueError):
        percentile([1, 2], p)


def test_no_values_is_an_error() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)


def test_hdr_and_exact_agree_within_the_histogram_precision() -> None:
    rng = random.Random(3)
    values_us = [rng.randint(100, 2_000_000) for _ in range(5000)]
    h = LatencyHistogram()
    for v in values_us:
        h.record_us(v)
    for p in (50, 90, 99, 99.9):
        exact = percentile(values_us, p)
        assert abs(h.percentile_us(p) - exact) <= exact * 1e-3
