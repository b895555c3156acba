"""Latency sections of the report, pure: results ``latency`` entries -> tables and charts (LAT-05).

Entries are grouped by (phase, mode, metric); each group has one row per path with count, min,
p50, p90, p99, p99.9 and max in milliseconds and the overhead of every non-direct path against
``direct`` (LAT-04). Groups of one (phase, metric) form a section with two charts that overlay
every path and ingest mode: a percentile curve (HDR-style, so the tail the table sums up in four
numbers is seen whole) and a histogram, both decoded from the encoded HDR histograms. Charts are
drawn for client-visible latency and TTFT only; service time and send lag are kept as tables.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from hdrh.histogram import HdrHistogram

from testbed.load.histogram import LatencyHistogram
from testbed.report._data import as_dict, as_dicts, as_float, as_int, as_str, ms
from testbed.report.charts import (MODE_LINE_COLOURS, PATH_COLOURS, SERIES_COLOURS, Chart, histogram, log_bins,
                                   percentile_curve, percentile_x)

METRIC_ORDER: Final = ("latency", "ttft", "service", "send_lag")
METRIC_TITLES: Final = {"latency": "client-visible latency", "ttft": "time to first token",
                        "service": "service time", "send_lag": "send lag"}
CHARTED: Final = frozenset(("latency", "ttft"))
CURVE_STEP: Final = 0.02
"""Spacing of curve points on the percentile axis (log10 of 1/(1-p)): 50 points per nine."""
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


@dataclass(frozen=True, slots=True)
class LatencySection:
    """Every group of one (phase, metric): their tables, and charts overlaying all their lines."""

    phase: str
    metric: str
    title: str
    groups: tuple[LatencyGroup, ...]
    modes: bool
    """More than one ingest mode: tables and charts name the mode of each line."""
    curve: Chart | None
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


def curve(encoded: Any) -> list[tuple[float, float]]:
    """(x, ms) points of the percentile curve of an encoded histogram, x = log10(1/(1-p)) from the
    minimum (x = 0) to the maximum (x = log10(count), where the samples end); [] when unreadable."""
    if not isinstance(encoded, str) or not encoded:
        return []
    try:
        h = LatencyHistogram.decode(encoded)
    except Exception:  # a damaged histogram draws no line
        return []
    if h.count == 0:
        return []
    end = math.log10(h.count)
    steps = [i * CURVE_STEP for i in range(int(end / CURVE_STEP) + 1)]
    pts = [(x, h.percentile_us(100.0 * (1.0 - 10.0 ** -x)) / 1000.0) for x in steps]
    pts.append((end, h.percentile_us(100.0) / 1000.0))
    # Points inside a flat run add nothing to the drawing; keep each run's two ends.
    return [p for i, p in enumerate(pts) if i in (0, len(pts) - 1) or not pts[i - 1][1] == p[1] == pts[i + 1][1]]


def _line_name(path: str, mode: str, paths: int, modes: int) -> str:
    if modes > 1 and paths > 1:
        return f"{path} · {mode}"
    return mode if modes > 1 else path


def _colours(names: Sequence[str]) -> dict[str, str]:
    known = {**PATH_COLOURS, **MODE_LINE_COLOURS}
    spare = iter(c for c in SERIES_COLOURS if c not in {known[n] for n in names if n in known})
    return {n: known.get(n) or next(spare, "#5a9e6f") for n in names}


def _charts(groups: Sequence[tuple[str, list[dict[str, Any]]]], title: str) -> tuple[Chart | None, Chart | None]:
    """The percentile curve and histogram of a section: one line per (path, mode) with samples."""
    paths = {as_str(e.get("path"), "?") for _, entries in groups for e in entries}
    lines: dict[str, Any] = {}
    for mode, entries in groups:
        for e in entries:
            lines[_line_name(as_str(e.get("path"), "?"), mode, len(paths), len(groups))] = e.get("histogram")
    curves = {n: pts for n, enc in lines.items() if (pts := curve(enc))}
    points = {n: pts for n, enc in lines.items() if (pts := recorded(enc))}
    colours = _colours(list(lines))
    notes = {n: _note(pts) for n, pts in curves.items()}
    curve_chart = percentile_curve(curves, colours, f"percentile curve of {title}", notes) if curves else None
    if not points:
        return curve_chart, None
    values = [v for pts in points.values() for v, _ in pts]
    bins = log_bins(min(values), max(values))
    return curve_chart, histogram(bins, {n: shares(pts, bins) for n, pts in points.items()}, f"histogram of {title}",
                                  colours)


def _note(pts: Sequence[tuple[float, float]]) -> str:
    count = round(10 ** pts[-1][0])
    return f"{pts[0][1]:.3g} to {pts[-1][1]:.3g} ms over {count} requests"


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


def latency_sections(latency: Any) -> tuple[LatencySection, ...]:
    """Sections in (phase, metric) order, measure first; healthy first within each section."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for e in as_dicts(latency):
        key = (as_str(e.get("phase"), "measure"), as_str(e.get("mode"), "healthy"), as_str(e.get("metric"), "latency"))
        groups.setdefault(key, []).append(e)
    sections: dict[tuple[str, str], list[tuple[str, list[dict[str, Any]]]]] = {}
    for key in sorted(groups, key=_sort_key):
        phase, mode, metric = key
        entries = sorted(groups[key], key=lambda e: _path_rank(as_str(e.get("path"))))
        sections.setdefault((phase, metric), []).append((mode, entries))
    out = []
    for (phase, metric), members in sections.items():
        title = f"{METRIC_TITLES.get(metric, metric)} · {phase}"
        views = []
        for mode, entries in members:
            rows = tuple(_row(e) for e in entries)
            views.append(LatencyGroup(phase, mode, metric, f"{title} · {mode}", rows, _overhead(rows)))
        curve_chart, hist = _charts(members, title) if metric in CHARTED else (None, None)
        out.append(LatencySection(phase, metric, title, tuple(views), len(members) > 1, curve_chart, hist))
    return tuple(out)


def _path_rank(path: str) -> int:
    return PATH_ORDER.index(path) if path in PATH_ORDER else len(PATH_ORDER)


def series_points(series: Any) -> dict[str, list[tuple[float, float]]]:
    """``scenarios[].series.points`` -> path -> [(t_s, p99 ms)] as steps, ordered by time.

    A point's p99 holds for its whole bucket, from ``t_s`` to ``t_s + bucket_s``: each is drawn
    as a flat step, so the line covers the last bucket too and reaches the end of the time axis."""
    doc = as_dict(series)
    bucket = as_float(doc.get("bucket_s")) or 0.0
    out: dict[str, list[tuple[float, float]]] = {}
    for p in as_dicts(doc.get("points")):
        t, v = as_float(p.get("t_s")), ms(p.get("p99_us"))
        if t is not None and v is not None:
            out.setdefault(as_str(p.get("path"), "gateway"), []).append((t, v))
    if bucket <= 0:
        return {k: sorted(v) for k, v in out.items()}
    return {k: [pt for t, val in sorted(v) for pt in ((t, val), (t + bucket, val))] for k, v in out.items()}
