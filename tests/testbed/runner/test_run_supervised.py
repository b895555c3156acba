"""The runner's stack is supervised without fighting its own faults: in ``exporter-killed`` the
fault's SIGKILL is left alone (results say so, no restart counted), while an exporter killed from
outside during a scenario is restarted, and the scenario's results count the restart. Real
processes on 127.0.0.1; no mocks. A whole run leaves no temporary file behind."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from testbed.runner.run import open_session, run_scenario
from testbed.runner.scenario import load_scenario
from testbed.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SCENARIOS = Path(__file__).resolve().parents[3] / "scenarios"


def test_a_fault_kill_is_left_down_and_an_outside_kill_is_restarted_and_counted(tmp_path: Path) -> None:
    sess = open_session(tmp_path / "work", None)
    try:
        killed = asyncio.run(run_scenario(load_scenario(SCENARIOS / "exporter-killed.yaml"), sess, "t"))
        assert killed.error is None
        sup = killed.settings["supervisor"]
        assert sup["restarts"] == {} and killed.evidence_counts["restarts"] == 0
        assert sup["left_down"] == [{"part": "exporter", "reason": "fault kill-exporter (exporter_kill)"}]

        assert sess.stack.exporter is not None and sess.stack.supervisor is not None
        victim = sess.stack.exporter.pid

        async def with_outside_kill() -> object:
            task = asyncio.create_task(run_scenario(load_scenario(SCENARIOS / "baseline.yaml"), sess, "t"))
            await asyncio.sleep(0)  # let the scenario start and stamp its start time first
            os.kill(victim, signal.SIGKILL)
            return await task

        outcome = asyncio.run(with_outside_kill())
        wait_until(lambda: sess.stack.exporter is not None and sess.stack.exporter.pid != victim
                   and sess.stack.exporter.alive(), 60, what="the exporter restarted")
        assert outcome.settings["supervisor"]["restarts"] == {"exporter": 1}  # type: ignore[attr-defined]
        assert outcome.evidence_counts["restarts"] == 1  # type: ignore[attr-defined]
    finally:
        sess.close()


def test_a_run_leaves_no_temporary_file_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    from testbed.runner.cli_entry import run_command

    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    run_command(["baseline"], None, str(tmp_path / "reports"))
    assert sorted(os.listdir(private)) == []
    assert len(list((tmp_path / "reports").iterdir())) == 1
