"""The fault timeline (lined up with latency over time) and the service topology as SVG, pure.

Both return :class:`~testbed.report.charts.Chart` geometry. The timeline shares one time axis
(seconds from the start of the load) between the latency panel and the fault lanes, so a spike
sits right above the fault that caused it. The topology is drawn in layers: a service's column
is the length of the longest call path that reaches it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from testbed.report.charts import AXIS, GRID, Chart, Shape, _s, colour, nice_max


@dataclass(frozen=True, slots=True)
class Band:
    """One bar on a lane: from ``start_s`` to ``end_s``, labelled, with its fill colour."""

    start_s: float
    end_s: float
    label: str
    fill: str


def _x_axis(x0: float, w: float, y: float, top_s: float, bottom: float) -> list[Shape]:
    out = []
    for i in range(6):
        t = top_s * i / 5
        x = x0 + w * i / 5
        out.append(_s("line", x1=x, y1=y, x2=x, y2=bottom, stroke=GRID))
        out.append(_s("text", f"{t:g}s", x=x, y=bottom + 13, text_anchor="middle", font_size=10, fill=AXIS))
    return out


def _latency_panel(series: Mapping[str, Sequence[tuple[float, float]]], x0: float, w: float, y0: float,
                   h: float, top_s: float) -> list[Shape]:
    top = nice_max(max((v for pts in series.values() for _, v in pts), default=0.0))
    out = []
    for i in range(3):
        y = y0 + h - h * i / 2
        out.append(_s("text", f"{top * i / 2:g}", x=x0 - 4, y=y + 4, text_anchor="end", font_size=10, fill=AXIS))
    out.append(_s("text", "p99 ms", x=x0 - 4, y=y0 - 6, text_anchor="end", font_size=10, fill=AXIS))
    for path, pts in series.items():
        coords = " ".join(f"{x0 + w * t / top_s:.1f},{y0 + h - h * v / top:.1f}" for t, v in pts)
        out.append(_s("polyline", title=f"{path} p99 over time", points=coords, fill="none",
                      stroke=colour(path), stroke_width=2))
    return out


def timeline(top_s: float, lanes: Sequence[tuple[str, Sequence[Band]]],
             series: Mapping[str, Sequence[tuple[float, float]]] | None, label: str) -> Chart:
    """Fault lanes under an optional latency-over-time panel, on one time axis."""
    width, x0 = 1060, 130  # the width of a scenario's section, so the time axis spans the page
    w = width - x0 - 20
    top_s = max(top_s, 0.001)
    panel_h = 120 if series else 0
    y_lanes = 20 + (panel_h + 20 if series else 0)
    height = y_lanes + 26 * max(len(lanes), 1) + 30
    shapes = _x_axis(x0, w, 14, top_s, height - 24)
    if series:
        shapes += _latency_panel(series, x0, w, 20, panel_h, top_s)
    for i, (name, bands) in enumerate(lanes):
        y = y_lanes + 26 * i
        shapes.append(_s("text", name[:20], x=x0 - 6, y=y + 15, text_anchor="end", font_size=11, fill="#222",
                         title=name))
        for b in bands:
            bx = x0 + w * max(b.start_s, 0.0) / top_s
            bw = max(w * (min(b.end_s, top_s) - max(b.start_s, 0.0)) / top_s, 2.0)
            shapes.append(_s("rect", title=f"{b.label}: {b.start_s:g}s – {b.end_s:g}s", x=bx, y=y + 2,
                             width=bw, height=18, fill=b.fill, rx=2))
            if bw > 40:
                shapes.append(_s("text", b.label[:int(bw / 7)], x=bx + 4, y=y + 15, font_size=10, fill="#222"))
    return Chart(width, height, label, tuple(shapes))


def _layers(names: Sequence[str], edges: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Column of each node: longest path from a node nothing calls (cycles are cut)."""
    layer = {n: 0 for n in names}
    for _ in range(len(names)):
        changed = False
        for a, b in edges:
            if a != b and layer.get(b, 0) < layer.get(a, 0) + 1 <= len(names):
                layer[b] = layer[a] + 1
                changed = True
        if not changed:
            break
    return layer


def topology(nodes: Sequence[Mapping[str, object]], edges: Sequence[Mapping[str, object]], label: str) -> Chart:
    """Services as boxes in call-depth columns, calls as arrows labelled with their count."""
    names = [str(n.get("service", "?")) for n in nodes]
    pairs = [(str(e.get("source", "?")), str(e.get("target", "?"))) for e in edges]
    layer = _layers(names, pairs)
    columns: dict[int, list[str]] = {}
    for n in names:
        columns.setdefault(layer[n], []).append(n)
    box_w, box_h, gap_x, gap_y = 170, 46, 170, 24  # room for two label lines on each edge
    pos = {n: (20 + c * (box_w + gap_x), 20 + r * (box_h + gap_y))
           for c, col in columns.items() for r, n in enumerate(col)}
    width = 40 + (max(columns, default=0) + 1) * (box_w + gap_x) - gap_x
    height = 40 + max((len(c) for c in columns.values()), default=1) * (box_h + gap_y)
    shapes: list[Shape] = []
    for e, (a, b) in zip(edges, pairs):
        if a in pos and b in pos:
            shapes += _arrow(pos[a], pos[b], box_w, box_h, e)
    for node in nodes:
        shapes += _node(node, pos[str(node.get("service", "?"))], box_w, box_h)
    return Chart(width, height, label, tuple(shapes))


def _arrow(a: tuple[int, int], b: tuple[int, int], bw: int, bh: int, e: Mapping[str, object]) -> list[Shape]:
    x1, y1 = a[0] + bw, a[1] + bh / 2
    x2, y2 = b[0], b[1] + bh / 2
    calls = e.get("calls", "")
    errors = e.get("errors", 0)
    rate = e.get("error_rate")
    text = f"{calls} calls" + (f", {errors} errors" if errors else "")
    if isinstance(rate, (int, float)):
        text = f"{calls} calls, {rate:.1%} errors"
    p50, p99 = e.get("p50_ms"), e.get("p99_ms")
    timed = isinstance(p50, (int, float)) and isinstance(p99, (int, float))
    latency = f"p50 {p50:.1f} / p99 {p99:.1f} ms" if timed else ""
    head = f"{x2:.1f},{y2:.1f} {x2 - 8:.1f},{y2 - 4:.1f} {x2 - 8:.1f},{y2 + 4:.1f}"
    # SIG-01: each edge shows its error rate and latency, not only its call count.
    return [_s("line", title=f"{text}; {latency}" if latency else text, x1=x1, y1=y1, x2=x2 - 6, y2=y2,
               stroke="#777", stroke_width=1.5),
            _s("polygon", points=head, fill="#777"),
            _s("text", text, x=(x1 + x2) / 2, y=(y1 + y2) / 2 - 5, text_anchor="middle", font_size=10, fill="#444"),
            _s("text", latency, x=(x1 + x2) / 2, y=(y1 + y2) / 2 + 11, text_anchor="middle", font_size=10,
               fill="#444")]


def _node(node: Mapping[str, object], p: tuple[int, int], bw: int, bh: int) -> list[Shape]:
    virtual = bool(node.get("virtual"))
    name = str(node.get("service", "?"))
    sub = "no spans (peer)" if virtual else f"{node.get('spans', 0)} spans"
    return [_s("rect", title=name, x=p[0], y=p[1], width=bw, height=bh, rx=6,
               fill="#f4f4f4" if virtual else "#e8f0fb", stroke="#2f6db5", stroke_dasharray="4 3" if virtual else "none"),
            _s("text", name[:21], x=p[0] + bw / 2, y=p[1] + 19, text_anchor="middle", font_size=12, fill="#111"),
            _s("text", sub, x=p[0] + bw / 2, y=p[1] + 36, text_anchor="middle", font_size=10, fill="#555")]
