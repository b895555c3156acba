"""Write a run's reports into its folder: ``index.html`` and ``junit.xml`` (RUN-06). Thin I/O.

``results.json`` is the runner's; pass ``write_results=True`` to write it here too (for callers
that hold only the dict, such as the pytest plugin).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from testbed.report.html import render_html
from testbed.report.junit import junit_xml


def write_reports(results: dict[str, Any], out_dir: Path, *, write_results: bool = False) -> dict[str, Path]:
    """Write the reports and return ``{"html": ..., "junit": ...}`` (and ``"results"``) paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"html": out_dir / "index.html", "junit": out_dir / "junit.xml"}
    paths["html"].write_text(render_html(results), encoding="utf-8")
    paths["junit"].write_text(junit_xml(results), encoding="utf-8")
    if write_results:
        paths["results"] = out_dir / "results.json"
        paths["results"].write_text(json.dumps(results, indent=1), encoding="utf-8")
    return paths
