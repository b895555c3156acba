"""The latency percentile curve (HDR-style axis, one line per path or ingest mode) that replaced
the percentile bar chart: its points come from the encoded histograms, it ends where the samples
end, and an isolation scenario's modes share one chart."""

from __future__ import annotations

import math
from typing import Any

import pytest

from testbed.report import build_view
from testbed.report.charts import percentile_x
from testbed.report.latency_view import curve, latency_sections
from tests.testbed.report.sample import histogram, latency_entry, results, spread


def polylines(chart: Any) -> dict[str, str]:
    return {s.title.split(":")[0]: dict(s.attrs)["points"] for s in chart.shapes if s.tag == "polyline"}


@pytest.mark.parametrize(("p", "x"), [(0.5, math.log10(2)), (0.9, 1.0), (0.99, 2.0), (0.999, 3.0)],
                         ids=["p50", "p90", "p99", "p99.9"])
def test_each_nine_gets_one_unit_of_the_axis(p: float, x: float) -> None:
    assert percentile_x(p) == pytest.approx(x)


def test_curve_runs_from_the_minimum_to_the_maximum_where_the_samples_end() -> None:
    pts = curve(histogram(spread(10.0))["histogram"])
    assert pts[0][0] == 0 and pts[0][1] == pytest.approx(10.0, rel=0.01)
    assert pts[-1][0] == pytest.approx(math.log10(2000)) and pts[-1][1] == pytest.approx(20.0, rel=0.01)
    at_p90 = next(v for x, v in pts if x >= 1.0)
    assert at_p90 == pytest.approx(19.0, rel=0.02)
    assert [x for x, _ in pts] == sorted(x for x, _ in pts)


@pytest.mark.parametrize("encoded", ["", "not a histogram", None], ids=["empty", "garbage", "missing"])
def test_an_unreadable_histogram_draws_no_line(encoded: Any) -> None:
    assert curve(encoded) == []


def test_paths_are_overlaid_in_one_curve_and_the_bar_chart_is_gone() -> None:
    section = build_view(results()).scenarios[0].latency[0]
    assert section.curve is not None
    lines = polylines(section.curve)
    assert set(lines) == {"gateway", "direct"}
    assert not any(s.tag == "rect" and "p50:" in s.title for s in section.curve.shapes)
    ticks = [s.text for s in section.curve.shapes if s.tag == "text" and s.text.endswith("%")]
    assert ticks == ["0%", "50%", "90%", "99%", "99.9%", "99.99%"]  # 2000 samples reach past p99.9


def test_an_isolation_scenarios_modes_share_one_section_and_one_chart() -> None:
    entries = [{**latency_entry("gateway", spread(base)), "mode": mode}
               for mode, base in (("healthy", 2.0), ("hang", 3.0), ("down", 2.5))]
    entries.append({**latency_entry("gateway", spread(0.1), metric="send_lag"), "mode": "hang"})
    latency, lag = latency_sections(entries)
    assert latency.modes and [g.mode for g in latency.groups] == ["healthy", "down", "hang"]
    assert latency.curve is not None and set(polylines(latency.curve)) == {"healthy", "down", "hang"}
    assert lag.curve is None and lag.histogram is None  # send lag is kept as a table
