"""HDR latency histograms (LAT-05): 1 µs..600 s at 3 significant digits, summaries, encode/decode
round trip for results.json, merging across workers, clamping instead of losing outliers."""

from __future__ import annotations

from testbed.load.histogram import LatencyHistogram


def filled(values_us: list[int]) -> LatencyHistogram:
    h = LatencyHistogram()
    for v in values_us:
        h.record_us(v)
    return h


def test_summary_reports_count_min_percentiles_and_max() -> None:
    s = filled(list(range(1, 1001))).summary()
    assert (s.count, s.min, s.max) == (1000, 1, 1000)
    assert s.p50 == 500 and s.p90 == 900 and s.p99 == 990 and s.p99_9 == 999


def test_encoded_histogram_round_trips() -> None:
    h = filled([3, 40, 40, 1200, 250_000, 9_000_000])
    back = LatencyHistogram.decode(h.encode())
    assert back.summary() == h.summary()


def test_merge_adds_counts() -> None:
    a, b = filled([10] * 5), filled([2000] * 5)
    a.merge(b)
    assert a.count == 10 and a.summary().max >= 1999


def test_three_significant_digits_and_clamping() -> None:
    h = filled([123_456])
    assert abs(h.percentile_us(50) - 123_456) <= 123
    h.record_us(0)
    h.record_us(700_000_000)
    assert h.clamped == 2 and h.count == 3 and h.summary().max >= 599_000_000


def test_nanoseconds_are_recorded_as_microseconds() -> None:
    h = LatencyHistogram()
    h.record_ns(5_000_000)
    assert abs(h.summary().p50 - 5000) <= 5


def test_empty_histogram_summary_is_zero() -> None:
    assert LatencyHistogram().summary().count == 0
