"""Profile-launched gateways leave no temporary file behind: the stderr file is deleted once the
process is stopped (its tail stays readable), also when the process never became ready."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

from testbed.errors import ProcessStartError
from testbed.runner._launch import ReadySpec, launch

READY = ("import signal, sys; print('gut log line', file=sys.stderr, flush=True); "
         "print('listening on http://127.0.0.1:9', flush=True); signal.pause()")


@pytest.fixture(autouse=True)
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_stopping_deletes_the_stderr_file_and_keeps_its_tail(private_tmp: Path) -> None:
    proc = launch([sys.executable, "-c", READY], ReadySpec(line=r"listening on (?P<url>\S+)", timeout_s=30))
    assert proc.url == "http://127.0.0.1:9" and os.listdir(private_tmp)
    proc.stop()
    proc.stop()  # idempotent
    assert os.listdir(private_tmp) == [] and "gut log line" in proc.stderr_tail()


def test_a_process_that_never_gets_ready_leaves_no_file(private_tmp: Path) -> None:
    script = "import sys; print('no-ready-line', file=sys.stderr); sys.exit(4)"
    with pytest.raises(ProcessStartError, match="no-ready-line"):
        launch([sys.executable, "-c", script], ReadySpec(line="never", timeout_s=30))
    assert os.listdir(private_tmp) == []
