"""HDR latency histograms (LAT-05): microseconds from 1 µs to 600 s at 3 significant digits.

A thin wrapper over the ``hdrhistogram`` package so every part of the suite records, summarises,
encodes and merges latencies the same way. Its percentiles are the suite's nearest-rank ones
(``testbed.percentiles``, which also says where HDR is used and where exact figures are) to the
histogram's precision. Values outside the range are clamped to it (and
counted in ``clamped``) rather than lost, because a dropped outlier would hide the tail.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from hdrh.histogram import HdrHistogram

LOWEST_US: Final = 1
HIGHEST_US: Final = 600_000_000
SIGNIFICANT_DIGITS: Final = 3
PERCENTILES: Final = (50.0, 90.0, 99.0, 99.9)


@dataclass(frozen=True, slots=True)
class Summary:
    """What reports show for one histogram; times in microseconds."""

    count: int
    min: int
    p50: int
    p90: int
    p99: int
    p99_9: int
    max: int

    def to_json(self) -> dict[str, int]:
        return {"count": self.count, "min": self.min, "p50": self.p50, "p90": self.p90,
                "p99": self.p99, "p99.9": self.p99_9, "max": self.max}


class LatencyHistogram:
    """Records latencies in microseconds; not thread-safe (one per task, merged at the end)."""

    def __init__(self) -> None:
        self._h = HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)
        self.clamped = 0

    def record_us(self, value_us: float) -> None:
        v = int(round(value_us))
        if v < LOWEST_US or v > HIGHEST_US:
            self.clamped += 1
            v = min(max(v, LOWEST_US), HIGHEST_US)
        self._h.record_value(v)

    def record_ns(self, value_ns: int) -> None:
        self.record_us(value_ns / 1000)

    def record_many_ns(self, values: Iterable[int]) -> None:
        for v in values:
            self.record_ns(v)

    @property
    def count(self) -> int:
        return self._h.get_total_count()

    def percentile_us(self, p: float) -> int:
        return self._h.get_value_at_percentile(p)

    def summary(self) -> Summary:
        if self.count == 0:
            return Summary(0, 0, 0, 0, 0, 0, 0)
        p = [self.percentile_us(x) for x in PERCENTILES]
        return Summary(self.count, self._h.get_min_value(), p[0], p[1], p[2], p[3], self._h.get_max_value())

    def merge(self, other: LatencyHistogram) -> None:
        self._h.add(other._h)
        self.clamped += other.clamped

    def encode(self) -> str:
        """The standard compressed HDR encoding (base64 text), kept in results.json."""
        return self._h.encode().decode("ascii")

    @classmethod
    def decode(cls, text: str) -> LatencyHistogram:
        out = cls()
        out._h.add(HdrHistogram.decode(text.encode("ascii")))
        return out
