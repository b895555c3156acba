"""Start a server in a child process and wait on its ready line (never on a sleep).

Used by tests, ``testbed up`` and the runner. The child's stdout is read line by line until a JSON
object with ``"event": "ready"`` appears; stderr goes to a temporary file so a failed start can show
it. ``stop()`` and ``kill()`` mark the exit as asked for (a supervisor restarts only exits nobody
asked for) and, once the child is gone, read its stderr into memory and delete the file, so no
temporary file outlives the process object's stop.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from testbed.errors import ProcessStartError

DEFAULT_START_TIMEOUT_S = 30.0


@dataclass
class ServerProcess:
    """A running child server and the ready line it printed."""

    argv: list[str]
    popen: subprocess.Popen[str]
    ready: dict[str, Any]
    stderr_path: str
    _reader: threading.Thread | None = field(default=None, repr=False)
    lines: list[str] = field(default_factory=list, repr=False)
    stop_reason: str | None = None
    """Set by ``stop()``/``kill()``: the exit was asked for (None: it died on its own)."""
    _stderr_kept: str | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return int(self.popen.pid)

    @property
    def url(self) -> str:
        return str(self.ready["url"])

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            self.popen.send_signal(sig)

    def stop(self, timeout: float = 15.0, reason: str = "stopped") -> int | None:
        """SIGTERM, then SIGKILL after ``timeout``; idempotent. Returns the exit status."""
        if self.alive():
            self.stop_reason = self.stop_reason or reason
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout)
        self.release()
        return self.popen.returncode

    def kill(self, reason: str = "killed") -> None:
        if self.alive():
            self.stop_reason = self.stop_reason or reason
            self.popen.kill()
            self.popen.wait(10)
        self.release()

    def release(self) -> None:
        """Once the child has exited: keep its stderr in memory and delete the file (idempotent)."""
        if self.popen.poll() is None or self._stderr_kept is not None:
            return
        self._stderr_kept = _read_text(self.stderr_path)
        try:
            os.unlink(self.stderr_path)
        except OSError:
            pass

    def stderr_text(self) -> str:
        if self._stderr_kept is not None:
            return self._stderr_kept
        return _read_text(self.stderr_path)


# A child's log is read back whole (tests search it for secrets) but never without a bound.
MAX_KEPT_STDERR = 16 << 20


def _read_text(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(max(0, os.path.getsize(path) - MAX_KEPT_STDERR))
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""


def python_module_argv(module: str, *args: str) -> list[str]:
    """argv that runs ``python -m module args...`` with this interpreter."""
    return [sys.executable, "-m", module, *args]


def _pump(stream: IO[str], out: "queue.Queue[str | None]", keep: list[str]) -> None:
    for line in stream:
        keep.append(line)
        out.put(line)
    out.put(None)


def start_server(
    argv: Sequence[str],
    *,
    timeout: float = DEFAULT_START_TIMEOUT_S,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
) -> ServerProcess:
    """Start ``argv`` and return once it prints its ready line; raise ProcessStartError otherwise."""
    err = tempfile.NamedTemporaryFile(prefix="testbed-stderr-", suffix=".log", delete=False)
    full_env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
    popen = subprocess.Popen(
        list(argv),
        stdout=subprocess.PIPE,
        stderr=err,
        stdin=subprocess.DEVNULL,
        text=True,
        env=full_env,
        cwd=cwd,
        start_new_session=True,
    )
    err.close()
    lines: "queue.Queue[str | None]" = queue.Queue()
    keep: list[str] = []
    assert popen.stdout is not None
    reader = threading.Thread(target=_pump, args=(popen.stdout, lines, keep), daemon=True)
    reader.start()
    proc = ServerProcess(list(argv), popen, {}, err.name, reader, keep)
    try:
        proc.ready = _await_ready(lines, timeout)
    except ProcessStartError as exc:
        proc.kill()
        raise ProcessStartError(f"{exc}; argv={list(argv)!r}; stderr:\n{proc.stderr_text()[-4000:]}") from None
    return proc


def _await_ready(lines: "queue.Queue[str | None]", timeout: float) -> dict[str, Any]:
    import time

    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ProcessStartError(f"no ready line within {timeout:.0f}s")
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            continue
        if line is None:
            raise ProcessStartError("process exited before its ready line")
        ready = parse_ready_line(line)
        if ready is not None:
            return ready


def parse_ready_line(line: str) -> dict[str, Any] | None:
    """The ready object if ``line`` is a ready line, else None."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    if isinstance(obj, dict) and obj.get("event") == "ready":
        return obj
    return None
