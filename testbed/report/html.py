"""The HTML report: a view model -> one self-contained HTML page (RUN-06), pure.

jinja2 renders ``templates/report.html.j2`` with autoescaping on for every value, so span content
(which may hold any string, ``<script>`` included) is shown as text. The page has inline CSS and
inline SVG, no script and no external URL, so it reads the same opened from disk.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jinja2

from testbed.report._data import fmt_ms
from testbed.report.summary import ReportView, build_view


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    # One environment per process: building it and compiling the template is the slow part.
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("testbed.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["ms"] = fmt_ms
    env.filters["num"] = lambda v: "–" if v is None else f"{v:g}"
    return env


def render_view(view: ReportView) -> str:
    return _environment().get_template("report.html.j2").render(view=view)


def render_html(results: dict[str, Any]) -> str:
    """The report for a results dict (as read from ``results.json``)."""
    return render_view(build_view(results))
