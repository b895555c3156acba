"""Reports of a run (RUN-06) and the CI gate: the HTML report and ``junit.xml`` from a
``results.json`` dict, and ``compare`` between two runs.

- :func:`build_view` (pure): results dict -> view model; :func:`render_html` renders it.
- :func:`junit_xml` (pure): one testcase per (scenario, check).
- :func:`write_reports`: writes ``index.html`` and ``junit.xml`` into a run folder.
- :func:`compare_results` (pure) and :func:`compare_main` (``testbed compare``; exit 0/1/2).
"""

from __future__ import annotations

from testbed.report.compare import Comparison, Tolerance, compare_results
from testbed.report.compare_cli import compare_main, render_markdown
from testbed.report.html import render_html
from testbed.report.junit import junit_xml
from testbed.report.summary import ReportView, build_view
from testbed.report.writer import write_reports

__all__ = [
    "Comparison", "ReportView", "Tolerance", "build_view", "compare_main", "compare_results", "junit_xml",
    "render_html", "render_markdown", "write_reports",
]
