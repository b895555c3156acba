"""Latency sections of the report, pure: results ``latency`` entries -> tables and charts (LAT-05).

Entries are grouped by (phase, mode, metric); each group has one row per path with count, min,
p50, p90, p99, p99.9 and max in milliseconds, the overhead of every non-direct path against
``direct`` (LAT-04), a percentile bar chart and a histogram decoded from the encoded HDR
histogram. Charts are drawn for client-visible latency and TTFT only; service time and send lag
are kept as tables for diagnosis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from hdrh.histogram import HdrHistogram

from testbed.load.histogram import LatencyHistogram
from testbed.report._data import as_dict, as_dicts, as_float, as_int, as_str, ms
from testbed.report.charts import Chart, histogram, log_bins, percentile_bars

METRIC_ORDER: Final = ("latency", "ttft", "service", "send_lag")
METRIC_TITLES: Final = {"latency": "client-visible latency", "ttft": "time to first token",
                        "service": "service time", "send_lag": "send lag"}
CHARTED: Final = frozenset(("latency", "ttft"))
PATH_ORDER: Final = ("gateway", "comparator", "direct")


@dataclass(frozen=True, slots=True)
class LatencyRow:
    path: str
    count: int
    min_ms: float | None
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    p99_9_ms: float | None
    max_ms: float | None


@dataclass(frozen=True, slots=True)
class Overhead:
    """pX(path) − pX(direct) in ms and the ratio, for one X in 50, 90, 99, 99.9 (LAT-04)."""

    percentile: str
    delta_ms: float
    ratio: float | None


@dataclass(frozen=True, slots=True)
class OverheadRow:
    path: str
    cells: tuple[Overhead, ...]


@dataclass(frozen=True, slots=True)
class LatencyGroup:
    phase: str
    mode: str
    metric: str
    title: str
    rows: tuple[LatencyRow, ...]
    overhead: tuple[OverheadRow, ...]
    bars: Chart | None
    histogram: Chart | None


def summary_of(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry's summary, or one computed from its encoded histogram when the summary is missing."""
    summary = as_dict(entry.get("summary"))
    if summary or not isinstance(entry.get("histogram"), str):
        return summary
    try:
        return LatencyHistogram.decode(entry["histogram"]).summary().to_json()
    except Exception:  # a damaged histogram leaves the row empty rather than breaking the report
        return {}


def _row(entry: dict[str, Any]) -> LatencyRow:
    s = summary_of(entry)
    return LatencyRow(as_str(entry.get("path"), "?"), as_int(s.get("count")) or 0, ms(s.get("min")), ms(s.get("p50")),
                      ms(s.get("p90")), ms(s.get("p99")), ms(s.get("p99.9")), ms(s.get("max")))


def recorded(encoded: Any) -> list[tuple[float, int]]:
    """(value in ms, count) for every recorded bucket of an encoded HDR histogram; [] when unreadable.

    ``LatencyHistogram`` offers percentiles only, so the buckets are read with hdrh itself."""
    if not isinstance(encoded, str) or not encoded:
        return []
    try:
        h = HdrHistogram.decode(encoded.encode("ascii"))
        return [(it.value_iterated_to / 1000.0, it.count_at_value_iterated_to) for it in h.get_recorded_iterator()]
    except Exception:  # a damaged histogram draws no chart
        return []


def shares(points: Sequence[tuple[float, int]], bins: Sequence[tuple[float, float]]) -> list[float]:
    """Each bin's share of the points' total count; values on a bin edge go to the upper bin."""
    total = sum(c for _, c in points) or 1
    out = [0.0] * len(bins)
    for value, count in points:
        idx = next((i for i, (lo, hi) in enumerate(bins) if value < hi), len(bins) - 1)
        out[idx] += count / total
    return out


def _histogram_chart(entries: Sequence[dict[str, Any]], title: str) -> Chart | None:
    data = {as_str(e.get("path"), "?"): recorded(e.get("histogram")) for e in entries}
    data = {p: pts for p, pts in data.items() if pts}
    if not data:
        return None
    values = [v for pts in data.values() for v, _ in pts]
    bins = log_bins(min(values), max(values))
    return histogram(bins, {p: shares(pts, bins) for p, pts in data.items()}, f"histogram of {title}")


def _overhead(rows: Sequence[LatencyRow]) -> tuple[OverheadRow, ...]:
    direct = next((r for r in rows if r.path == "direct"), None)
    if direct is None:
        return ()
    out = []
    for r in rows:
        if r.path == "direct":
            continue
        cells = []
        for label, attr in (("p50", "p50_ms"), ("p90", "p90_ms"), ("p99", "p99_ms"), ("p99.9", "p99_9_ms")):
            a, b = getattr(r, attr), getattr(direct, attr)
            if a is not None and b is not None:
                cells.append(Overhead(label, a - b, a / b if b else None))
        if cells:
            out.append(OverheadRow(r.path, tuple(cells)))
    return tuple(out)


def _sort_key(key: tuple[str, str, str]) -> tuple[int, str, int, str]:
    phase, mode, metric = key
    m = METRIC_ORDER.index(metric) if metric in METRIC_ORDER else len(METRIC_ORDER)
    return (0 if phase == "measure" else 1, phase, m, "" if mode == "healthy" else mode)


def latency_groups(latency: Any) -> tuple[LatencyGroup, ...]:
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for e in as_dicts(latency):
        key = (as_str(e.get("phase"), "measure"), as_str(e.get("mode"), "healthy"), as_str(e.get("metric"), "latency"))
        groups.setdefault(key, []).append(e)
    out = []
    for key in sorted(groups, key=_sort_key):
        phase, mode, metric = key
        entries = sorted(groups[key], key=lambda e: _path_rank(as_str(e.get("path"))))
        rows = tuple(_row(e) for e in entries)
        title = f"{METRIC_TITLES.get(metric, metric)} · {phase} · {mode}"
        bars = hist = None
        if metric in CHARTED:
            bars = percentile_bars({r.path: {"p50": r.p50_ms, "p90": r.p90_ms, "p99": r.p99_ms, "p99.9": r.p99_9_ms}
                                    for r in rows}, f"percentiles of {title}")
            hist = _histogram_chart(entries, title)
        out.append(LatencyGroup(phase, mode, metric, title, rows, _overhead(rows), bars, hist))
    return tuple(out)


def _path_rank(path: str) -> int:
    return PATH_ORDER.index(path) if path in PATH_ORDER else len(PATH_ORDER)


def series_points(series: Any) -> dict[str, list[tuple[float, float]]]:
    """``scenarios[].series.points`` -> path -> [(t_s, p99 ms)], ordered by time."""
    out: dict[str, list[tuple[float, float]]] = {}
    for p in as_dicts(as_dict(series).get("points")):
        t, v = as_float(p.get("t_s")), ms(p.get("p99_us"))
        if t is not None and v is not None:
            out.setdefault(as_str(p.get("path"), "gateway"), []).append((t, v))
    return {k: sorted(v) for k, v in out.items()}
