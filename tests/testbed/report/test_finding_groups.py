"""The report for a gateway that fails reads well: at the top of each scenario its findings are
grouped by (SPEC id, severity, message) with a count and one example, worst and most frequent
first; repeated reasons are listed once with their count; the pairing figures are shown."""

from __future__ import annotations

from typing import Any

from testbed.report.html import render_html
from testbed.report.summary import build_view, finding_groups
from tests.testbed.report.sample import finding, results


def _many() -> list[dict[str, Any]]:
    missing = [finding("SEM-04", "violation", "required attribute gen_ai.provider.name is missing",
                       trace_id=f"{i:032x}", span_id=f"{i:016x}", attribute="gen_ai.provider.name") for i in range(40)]
    typed = [finding("SEM-12", "violation", "llm.is_streaming: a string where a bool belongs", actual="string")] * 3
    return missing + typed + [finding("SEM-23", "warning", "deprecated attribute gen_ai.system")] * 50


def test_forty_identical_findings_become_one_group_with_a_count_and_an_example() -> None:
    groups = finding_groups(_many())
    assert [(g.spec_id, g.count) for g in groups] == [("SEM-04", 40), ("SEM-12", 3), ("SEM-23", 50)]
    assert dict((i.key, i.value) for i in groups[0].example)["span_id"] == f"{0:016x}"


def test_the_scenario_section_leads_with_the_groups_and_lists_each_reason_once() -> None:
    doc = results()
    sc = doc["scenarios"][0]
    sc["checks"][0]["findings"] = _many()
    sc["reasons"] = ["SEM-04: required attribute gen_ai.provider.name is missing"] * 40
    sc["pairing"] = {"paired": 40, "rate": 1.0, "by_means": {"response_id": 40}}
    view = build_view(doc)
    assert view.scenarios[0].reasons == ("SEM-04: required attribute gen_ai.provider.name is missing (×40)",)
    html = render_html(doc)
    section = html.split('id="' + view.scenarios[0].anchor + '"', 1)[1]
    assert section.index("Findings at a glance") < section.index("<h3>Checks")
    assert "Spans paired with upstream requests" in section and "response_id" in section
