"""How a reader finds a failure: scenarios in the order the run ran them, numbered, under a
scenario × check matrix whose cells link to the check's row; the fault timeline only where there
were faults, and its latency line reaching the end of the time axis."""

from __future__ import annotations

import re
from typing import Any

from testbed.report import build_view, render_html
from testbed.report.latency_view import series_points
from tests.testbed.report.sample import results


def _named(doc: dict[str, Any], names_and_starts: list[tuple[str, str]]) -> dict[str, Any]:
    chat = doc["scenarios"][0]
    doc["scenarios"] = [{**chat, "name": n, "started_ns": t} for n, t in names_and_starts]
    return doc


def test_scenarios_are_ordered_by_when_they_started_and_numbered() -> None:
    doc = _named(results(), [("zeta", "1700000000000000300"), ("alpha", "1700000000000000100"),
                             ("mid", "1700000000000000200")])
    view = build_view(doc)
    assert [(s.number, s.name) for s in view.scenarios] == [(1, "alpha"), (2, "mid"), (3, "zeta")]
    assert [r.name for r in view.matrix.rows] == ["alpha", "mid", "zeta"]


def test_without_every_start_time_the_files_order_is_kept() -> None:
    view = build_view(results())  # the broken scenario has no started_ns
    assert [s.name for s in view.scenarios] == ["chat", "broken"]


def test_every_matrix_cell_links_to_its_checks_row_and_a_failure_is_one_click_away() -> None:
    view = build_view(results())
    assert view.matrix.checks == ("semconv", "loss", "streaming", "isolation", "latency")
    chat, broken = view.matrix.rows
    failed = chat.cells[0]
    assert (failed.outcome, failed.glyph) == ("failed", "✗") and failed.title.startswith("chat · semconv: failed")
    html = render_html(results())
    for cell in chat.cells:
        assert f'id="{cell.href[1:]}"' in html
        assert f'href="{cell.href}"' in html
    assert all(c.outcome == "" for c in broken.cells)
    assert html.index('class="matrix"') < html.index('<section class="scenario"')


def test_the_fault_timeline_is_left_out_where_there_were_no_faults() -> None:
    doc = results()
    doc["scenarios"][0]["timeline"] = []
    view = build_view(doc)
    assert view.scenarios[0].timeline.chart is None
    assert "Fault timeline" not in render_html(doc)
    assert "Fault timeline" in render_html(results())


def test_ingest_mode_blocks_count_as_faults() -> None:
    doc = results()
    doc["scenarios"][0]["timeline"] = []
    doc["scenarios"][0]["settings"].update(modes=["healthy", "down"], block_s=2.0)
    assert build_view(doc).scenarios[0].timeline.chart is not None


def test_the_p99_line_covers_the_last_bucket_and_reaches_the_end_of_the_axis() -> None:
    series = {"bucket_s": 0.5, "points": [{"t_s": 0.0, "path": "gateway", "p99_us": 3000},
                                          {"t_s": 0.5, "path": "gateway", "p99_us": 5000}]}
    assert series_points(series) == {"gateway": [(0.0, 3.0), (0.5, 3.0), (0.5, 5.0), (1.0, 5.0)]}
    chart = build_view(results()).scenarios[0].timeline.chart  # duration 4 s, last bucket starts at 3.5 s
    assert chart is not None
    line = next(s for s in chart.shapes if s.tag == "polyline")
    xs = [float(p.split(",")[0]) for p in dict(line.attrs)["points"].split()]
    ticks = [s for s in chart.shapes if s.tag == "text" and re.fullmatch(r"[\d.]+s", s.text)]
    axis_end = max(float(dict(s.attrs)["x"]) for s in ticks)
    assert max(xs) == axis_end
