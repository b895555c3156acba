"""Send-lag figures per group (LAT-03): how late the generator sent, for each mode or path.

Send lag is ``sent − intended`` (LAT-02); a negative lag (a clock read out of order) counts as 0.
Pure: the checks judge these figures and the report shows them next to every latency they produced.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from testbed.checks.evidence import ClientRecord
from testbed.percentiles import percentile

SLOW_SEND_NS: Final = 10_000_000
"""LAT-03 (b): a send that leaves more than 10 ms late is a slow send."""


@dataclass(frozen=True, slots=True)
class LagSummary:
    count: int
    p50_ns: int
    p99_ns: int
    max_ns: int
    slow: int
    """Sends that lagged more than :data:`SLOW_SEND_NS`."""
    cap_hits: int

    def to_json(self) -> dict[str, Any]:
        return {"count": self.count, "p50_us": round(self.p50_ns / 1000, 1), "p99_us": round(self.p99_ns / 1000, 1),
                "max_us": round(self.max_ns / 1000, 1), "over_10ms": self.slow, "cap_hits": self.cap_hits}


def lag_summary(records: Iterable[ClientRecord]) -> LagSummary:
    recs = list(records)
    lags = [max(r.send_lag_ns, 0) for r in recs]
    if not lags:
        return LagSummary(0, 0, 0, 0, 0, 0)
    return LagSummary(len(lags), int(percentile(lags, 50)), int(percentile(lags, 99)), max(lags),
                      sum(1 for v in lags if v > SLOW_SEND_NS), sum(1 for r in recs if r.cap_hit))


def lag_by_group(groups: Mapping[str, Sequence[ClientRecord]]) -> dict[str, LagSummary]:
    """One summary per group (mode or path), in the groups' order."""
    return {name: lag_summary(recs) for name, recs in groups.items()}
