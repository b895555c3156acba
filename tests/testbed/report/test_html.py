"""The HTML report (RUN-06): self-contained (no script, no external URL), span content escaped,
every section present, and figures taken from the results (LAT-05 percentiles, LAT-04 overhead)."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from testbed.report import build_view, render_html
from tests.testbed.report.sample import HOSTILE, results


def test_report_loads_nothing_from_the_network_and_runs_no_script() -> None:
    html = render_html(results())
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.I)
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert "<style>" in html and "<svg" in html


def test_markup_in_span_content_is_shown_as_text() -> None:
    html = render_html(results())
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


def test_failed_check_shows_spec_id_evidence_and_a_diff_of_expected_against_actual() -> None:
    view = build_view(results())
    semconv = view.scenarios[0].checks[0]
    assert semconv.outcome == "failed"
    first = semconv.findings[0]
    assert first.spec_id == "SEM-03"
    assert [(i.key, i.value) for i in first.evidence][:3] == [
        ("span_id", "00f067aa0ba902b7"), ("attribute", "gen_ai.request.model"), ("expected", "gpt-4o-mini")]
    assert [d.kind for d in first.diff] == ["-", "+"]
    structured = semconv.findings[1].diff
    assert any(d.kind == "-" and '"a": 1' in d.text for d in structured)
    assert any(d.kind == "+" and '"a": 2' in d.text for d in structured)


def test_check_rows_say_what_they_verify_and_what_they_judged() -> None:
    checks = {c.name: c for c in build_view(results()).scenarios[0].checks}
    assert checks["loss"].description.startswith("every expected span")
    assert checks["loss"].judged == "40 expected spans, 40 spans"
    html = render_html(results())
    assert "judged 40 expected spans, 40 spans" in html and "every expected span arrives once" in html


def test_not_applicable_is_grey_and_an_info_only_check_reads_as_notes() -> None:
    view = build_view(results())
    streaming = next(c for c in view.scenarios[0].checks if c.name == "streaming")
    assert streaming.tally == "1 note"
    assert ("not_applicable", 1) in view.check_counts
    html = render_html(results())
    assert ".badge.not_applicable { background:var(--na); }" in html and "--na:#8a8a8a" in html
    assert '<span class="badge not_applicable">' in html
    semconv = view.scenarios[0].checks[0]
    assert semconv.tally == "1 violation, 1 warning"


def test_latency_rows_and_overhead_come_from_the_encoded_histograms() -> None:
    section = build_view(results()).scenarios[0].latency[0]
    (group,) = section.groups
    gateway, direct = group.rows
    assert (gateway.path, direct.path) == ("gateway", "direct")
    assert gateway.count == direct.count == 2000
    assert 17.5 < gateway.p50_ms < 18.5 and 14.5 < direct.p50_ms < 15.5
    overhead = {c.percentile: c.delta_ms for c in group.overhead[0].cells}
    assert 2.5 < overhead["p50"] < 3.5
    assert section.curve is not None and section.histogram is not None


def test_sections_say_what_was_not_collected() -> None:
    doc = results()
    del doc["scenarios"][0]["topology"], doc["scenarios"][0]["series"]
    html = render_html(doc)
    assert "Topology not collected" in html
    assert "Latency over time was not collected" in html


def test_timeline_hops_topology_and_environment_are_drawn() -> None:
    view = build_view(results())
    chat = view.scenarios[0]
    assert chat.timeline.chart is not None and [r.op for r in chat.timeline.rows] == ["apply", "clear"]
    hops = {h.hop: h for h in chat.hops}
    assert hops["exporter (spans)"].dropped == 3 and hops["exporter (spans)"].drop_reasons == (("permanent_400", 3),)
    assert chat.topology.chart is not None
    assert ("python", "3.11.7") in [(i.key, i.value) for i in view.environment]


def test_a_broken_scenario_shows_its_error() -> None:
    html = render_html(results())
    assert "RuntimeError: stack died" in html


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                           max_leaves=12)
keys = st.sampled_from(["schema", "run", "status", "scenarios", "environment"])
scenario_keys = st.sampled_from(["name", "status", "checks", "latency", "timeline", "counters", "topology", "series",
                                 "settings", "suppressed", "requests", "duration_s"])


@settings(max_examples=60, deadline=None)
@given(top=st.dictionaries(keys, json_values, max_size=5),
       scenario=st.dictionaries(scenario_keys, json_values, max_size=8))
def test_any_malformed_results_document_still_renders(top: dict[str, Any], scenario: dict[str, Any]) -> None:
    for doc in (top, {**results(), "scenarios": [scenario]}):
        html = render_html(doc)
        assert html.startswith("<!DOCTYPE html>")
