"""The report as a person sees it: headless Chromium opens ``index.html`` from disk with no
network, and the rendered page shows the verdict, the failing SPEC id, the escaped span content,
the charts and the environment. A screenshot is kept under reports/test-artifacts/. Skipped with
a reason where no Chromium is installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from testbed.report import write_reports
from tests.testbed.report.sample import HOSTILE, results

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage")


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


CHROMIUM = _chromium()
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (apt-get install chromium)")]


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    argv = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=90, check=False)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_reports(results(), tmp_path_factory.mktemp("report"))["html"]


def test_rendered_page_shows_verdict_findings_and_sections(report: Path, tmp_path: Path) -> None:
    done = _run(tmp_path, "--dump-dom", report.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert "Verdict:" in dom and ">error<" in dom
    assert "SEM-03" in dom and "gen_ai.request.model" in dom
    assert "&lt;script&gt;" in dom and HOSTILE not in dom  # shown as text, never parsed as markup
    assert dom.count("<svg") >= 4 and "class=\"matrix\"" in dom and "percentile curve of" in dom
    for section in ("Latency", "Fault timeline", "Loss accounting per hop", "Service topology", "Environment"):
        assert section in dom


def test_screenshot_is_kept_as_an_artifact(report: Path, tmp_path: Path, pytestconfig: pytest.Config) -> None:
    shot = tmp_path / "report.png"
    done = _run(tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", report.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    kept = pytestconfig.rootpath / "reports" / "test-artifacts"
    kept.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, kept / "report-screenshot.png")
