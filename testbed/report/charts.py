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


def _legend(paths: Sequence[str], x: float, y: float) -> list[Shape]:
    out = []
    for i, p in enumerate(paths):
        out.append(_s("rect", x=x + i * 110, y=y - 9, width=10, height=10, fill=colour(p)))
        out.append(_s("text", p, x=x + i * 110 + 14, y=y, font_size=11, fill="#222"))
    return out


def percentile_bars(values: Mapping[str, Mapping[str, float | None]], label: str) -> Chart:
    """Grouped bars: one group per percentile label, one bar per path; values in ms."""
    paths = list(values)
    keys = list(next(iter(values.values()), {}).keys()) if values else []
    width, height, x0, y0, h = 520, 220, 50, 30, 150
    top = nice_max(max((v for p in paths for v in values[p].values() if v is not None), default=0.0))
    shapes = _y_axis(x0, y0, h, width - x0 - 10, top, "ms")
    group_w = (width - x0 - 10) / max(len(keys), 1)
    bar_w = min(28.0, (group_w - 16) / max(len(paths), 1))
    for gi, key in enumerate(keys):
        gx = x0 + gi * group_w + 8
        for pi, p in enumerate(paths):
            v = values[p].get(key)
            if v is None:
                continue
            bh = h * v / top
            shapes.append(_s("rect", title=f"{p} {key}: {v:.3f} ms", x=gx + pi * bar_w, y=y0 + h - bh,
                             width=bar_w - 2, height=max(bh, 0.5), fill=colour(p)))
        shapes.append(_s("text", key, x=gx + len(paths) * bar_w / 2, y=y0 + h + 14, text_anchor="middle",
                         font_size=11, fill=AXIS))
    shapes += _legend(paths, x0, height - 8)
    return Chart(width, height, label, tuple(shapes))


def histogram(bins: Sequence[tuple[float, float]], series: Mapping[str, Sequence[float]], label: str) -> Chart:
    """Side-by-side bars per bin: ``bins`` are (low, high) in ms on a log scale, ``series`` gives
    each path's share of its requests (0..1) per bin."""
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
            shapes.append(_s("rect", title=f"{p} {lo:.3g}–{hi:.3g} ms: {v:.1f}%", x=bx + pi * bar_w,
                             y=y0 + h - bh, width=max(bar_w - 0.5, 0.5), height=max(bh, 0.5), fill=colour(p)))
        if bi % max(1, len(bins) // 6) == 0:
            shapes.append(_s("text", f"{lo:.3g}", x=bx, y=y0 + h + 14, text_anchor="middle", font_size=10, fill=AXIS))
    shapes.append(_s("text", "ms (log scale)", x=width - 10, y=y0 + h + 28, text_anchor="end", font_size=10, fill=AXIS))
    shapes += _legend(paths, x0, height - 4)
    return Chart(width, height, label, tuple(shapes))


def log_bins(low_ms: float, high_ms: float, count: int = 24) -> list[tuple[float, float]]:
    """``count`` log-spaced bins covering [low, high] (a single bin when they are equal)."""
    low = max(low_ms, 0.001)
    high = max(high_ms, low * 1.0001)
    ratio = (high / low) ** (1 / count)
    return [(low * ratio ** i, low * ratio ** (i + 1)) for i in range(count)]
