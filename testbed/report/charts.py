"""Inline SVG charts as plain geometry, pure.

A chart is a list of shapes (tag, attributes, text). The template writes them out with jinja2's
autoescaping, so no string from a run (a fault name, a service name) can inject markup, and the
report needs no script and no external asset (RUN-06). Shape tags are a closed set.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

Tag = Literal["rect", "line", "text", "polyline", "polygon", "circle"]

PATH_COLOURS: Final = {"gateway": "#2f6db5", "direct": "#8c97a3", "comparator": "#d0862a"}
MODE_COLOURS: Final = {"healthy": "#cfe8d5", "slow": "#f6deb0", "hang": "#f3c0b8", "down": "#e39a9a",
                       "throttled": "#e5d0f0", "bus_down": "#c9d4f2"}
MODE_LINE_COLOURS: Final = {"healthy": "#1e7d3a", "slow": "#c98a00", "hang": "#b3261e", "down": "#6a1b9a",
                             "throttled": "#c2185b", "bus_down": "#2f6db5"}
"""Ingest modes drawn as lines (the pale ``MODE_COLOURS`` are lane fills)."""
SERIES_COLOURS: Final = ("#2f6db5", "#d0862a", "#1e7d3a", "#b3261e", "#6a1b9a", "#00838f", "#8c97a3", "#c2185b")
"""Lines that are neither a known path nor a known mode take these in turn."""
FAULT_COLOUR: Final = "#d9534f"
AXIS: Final = "#555"
GRID: Final = "#e4e4e4"


@dataclass(frozen=True, slots=True)
class Shape:
    tag: Tag
    attrs: tuple[tuple[str, str], ...]
    text: str = ""
    title: str = ""


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    label: str
    shapes: tuple[Shape, ...]


def colour(path: str) -> str:
    return PATH_COLOURS.get(path, "#5a9e6f")


def _s(tag: Tag, text: str = "", title: str = "", **attrs: object) -> Shape:
    pairs = tuple((k.rstrip("_").replace("_", "-"), f"{v:.1f}" if isinstance(v, float) else str(v))
                  for k, v in attrs.items())
    return Shape(tag, pairs, text, title)


def nice_max(value: float) -> float:
    """The axis top: 1, 2 or 5 times a power of ten at or above ``value``."""
    if value <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for m in (1, 2, 5, 10):
        if m * exp >= value:
            return float(m * exp)
    return float(10 * exp)


def _y_axis(x0: float, y0: float, h: float, width: float, top: float, unit: str) -> list[Shape]:
    out = []
    for i in range(5):
        v = top * i / 4
        y = y0 + h - h * i / 4
        out.append(_s("line", x1=x0, y1=y, x2=x0 + width, y2=y, stroke=GRID))
        out.append(_s("text", f"{v:g}", x=x0 - 4, y=y + 4, text_anchor="end", font_size=10, fill=AXIS))
    out.append(_s("text", unit, x=x0 - 30, y=y0 - 12, font_size=10, fill=AXIS))
    return out


def _legend(paths: Sequence[str], x: float, y: float, colours: Mapping[str, str] | None = None) -> list[Shape]:
    out = []
    for p in paths:
        fill = (colours or {}).get(p) or colour(p)
        out.append(_s("rect", x=x, y=y - 9, width=10, height=10, fill=fill))
        out.append(_s("text", p, x=x + 14, y=y, font_size=11, fill="#222"))
        x += 30 + 6.5 * len(p)  # about the width of the label at 11 px
    return out


PERCENTILE_TICKS: Final = ((0.0, "0%"), (math.log10(2), "50%"), (1.0, "90%"), (2.0, "99%"), (3.0, "99.9%"),
                           (4.0, "99.99%"))
"""Ticks of the HDR-style percentile axis: x = log10(1 / (1 - p)), so each nine gets equal width."""


def percentile_x(p: float) -> float:
    """Where percentile ``p`` (0..1, below 1) sits on the HDR-style axis."""
    return math.log10(1.0 / (1.0 - p))


def percentile_curve(series: Mapping[str, Sequence[tuple[float, float]]], colours: Mapping[str, str],
                     label: str, notes: Mapping[str, str] | None = None) -> Chart:
    """Latency (ms, linear) against percentile (HDR-style log axis), one line per series.

    ``series`` gives each line's (x, ms) points with x from :func:`percentile_x`; a line ends where
    its samples end (x = log10 of the count, the maximum), marked with a dot, so a tail the run did
    not sample is never drawn. The axis runs to the first tick at or past the longest line (99 % at
    least)."""
    width, height, x0, y0, h = 520, 240, 50, 30, 150
    w = width - x0 - 20
    x_end = max((x for pts in series.values() for x, _ in pts), default=0.0)
    x_top = next((t for t, _ in PERCENTILE_TICKS if t >= max(x_end, 2.0) - 1e-9), PERCENTILE_TICKS[-1][0])
    top = nice_max(max((v for pts in series.values() for _, v in pts), default=0.0))
    shapes = _y_axis(x0, y0, h, w, top, "ms")
    for t, text in PERCENTILE_TICKS:
        if t <= x_top + 1e-9:
            x = x0 + w * t / x_top
            shapes.append(_s("line", x1=x, y1=y0, x2=x, y2=y0 + h, stroke=GRID))
            shapes.append(_s("text", text, x=x, y=y0 + h + 14, text_anchor="middle", font_size=10, fill=AXIS))
    shapes.append(_s("text", "percentile (log scale of 1/(1−p))", x=width - 20, y=y0 + h + 28, text_anchor="end",
                     font_size=10, fill=AXIS))
    notes = notes or {}
    for name, pts in series.items():
        if not pts:
            continue
        coords = [(x0 + w * min(x, x_top) / x_top, y0 + h - h * v / top) for x, v in pts]
        title = f"{name}: {notes[name]}" if name in notes else name
        shapes.append(_s("polyline", title=title, points=" ".join(f"{x:.1f},{y:.1f}" for x, y in coords),
                         fill="none", stroke=colours.get(name, "#5a9e6f"), stroke_width=2))
        shapes.append(_s("circle", title=f"{name}: max {pts[-1][1]:.3g} ms", cx=coords[-1][0], cy=coords[-1][1], r=3,
                         fill=colours.get(name, "#5a9e6f")))
    shapes += _legend(list(series), x0, height - 6, colours)
    return Chart(width, height, label, tuple(shapes))


def histogram(bins: Sequence[tuple[float, float]], series: Mapping[str, Sequence[float]], label: str,
              colours: Mapping[str, str] | None = None) -> Chart:
    """Side-by-side bars per bin: ``bins`` are (low, high) in ms on a log scale, ``series`` gives
    each line's (a path's or an ingest mode's) share of its requests (0..1) per bin."""
    colours = colours or {}
    width, height, x0, y0, h = 520, 230, 50, 30, 150
    paths = list(series)
    top = nice_max(100 * max((v for p in paths for v in series[p]), default=0.0))
    shapes = _y_axis(x0, y0, h, width - x0 - 10, top, "% of requests")
    bin_w = (width - x0 - 10) / max(len(bins), 1)
    bar_w = max(1.0, (bin_w - 2) / max(len(paths), 1))
    for bi, (lo, hi) in enumerate(bins):
        bx = x0 + bi * bin_w + 1
        for pi, p in enumerate(paths):
            v = 100 * series[p][bi]
            if v <= 0:
                continue
            bh = h * v / top
            shapes.append(_s("rect", title=f"{p} {lo:.3g}–{hi:.3g} ms: {v:.1f}%", x=bx + pi * bar_w, y=y0 + h - bh,
                             width=max(bar_w - 0.5, 0.5), height=max(bh, 0.5), fill=colours.get(p) or colour(p)))
        if bi % max(1, len(bins) // 6) == 0:
            shapes.append(_s("text", f"{lo:.3g}", x=bx, y=y0 + h + 14, text_anchor="middle", font_size=10, fill=AXIS))
    shapes.append(_s("text", "ms (log scale)", x=width - 10, y=y0 + h + 28, text_anchor="end", font_size=10, fill=AXIS))
    shapes += _legend(paths, x0, height - 4, colours)
    return Chart(width, height, label, tuple(shapes))


def log_bins(low_ms: float, high_ms: float, count: int = 24) -> list[tuple[float, float]]:
    """``count`` log-spaced bins covering [low, high] (a single bin when they are equal)."""
    low = max(low_ms, 0.001)
    high = max(high_ms, low * 1.0001)
    ratio = (high / low) ** (1 / count)
    return [(low * ratio ** i, low * ratio ** (i + 1)) for i in range(count)]
