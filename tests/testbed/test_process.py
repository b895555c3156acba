"""Child server processes: the stderr log file lives only as long as the process (its text stays
readable after stop, for tests that search logs for secrets), and stop/kill record that the exit
was asked for, which is what tells a supervisor not to restart it."""

from __future__ import annotations

import os
import signal
import sys
import tempfile
from pathlib import Path

import pytest

from testbed.errors import ProcessStartError
from testbed.process import start_server

CHILD = ("import json, signal, sys; print('to stderr', file=sys.stderr, flush=True); "
         "print(json.dumps({'event': 'ready', 'url': 'http://127.0.0.1:1'}), flush=True); signal.pause()")


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_stopping_deletes_the_stderr_file_but_keeps_its_text(how: str) -> None:
    proc = start_server([sys.executable, "-c", CHILD])
    path = proc.stderr_path
    assert os.path.exists(path) and proc.stop_reason is None
    getattr(proc, how)()
    assert not os.path.exists(path)
    assert "to stderr" in proc.stderr_text()
    assert proc.stop_reason in ("stopped", "killed")


def test_a_child_killed_from_outside_has_no_stop_reason_and_is_released_on_stop() -> None:
    proc = start_server([sys.executable, "-c", CHILD])
    os.kill(proc.pid, signal.SIGKILL)
    proc.popen.wait(30)
    assert proc.stop_reason is None and os.path.exists(proc.stderr_path)
    proc.stop()
    assert proc.stop_reason is None and not os.path.exists(proc.stderr_path)


def test_a_failed_start_shows_the_stderr_and_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    script = "import sys; print('boom-at-start', file=sys.stderr); sys.exit(3)"
    with pytest.raises(ProcessStartError, match="boom-at-start"):
        start_server([sys.executable, "-c", script])
    assert os.listdir(tmp_path) == []
