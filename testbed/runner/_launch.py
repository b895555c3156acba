"""Start a gateway under test from its profile and wait until it is ready (I/O).

Readiness is either a regex matched against the process's stdout lines (a named group ``url``
gives the base URL) or an HTTP URL that must answer 2xx; both are awaited with a deadline, and a
process that exits first fails at once with the tail of its stderr. stderr goes to a file and
is never echoed (it may hold whatever the gateway logs).
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import IO

from testbed.errors import ProcessStartError, WaitTimeout
from testbed.waiting import wait_until

_KEPT_TAIL = 64 << 10
"""Bytes of a stopped process's stderr kept once its file is deleted."""


@dataclass(frozen=True, slots=True)
class ReadySpec:
    line: str | None = None
    """Regex searched in each stdout line; a ``(?P<url>...)`` group gives the base URL."""
    http: str | None = None
    """URL polled until it answers 2xx."""
    timeout_s: float = 30.0


@dataclass
class LaunchedProcess:
    popen: subprocess.Popen[str]
    stderr_path: str
    url: str | None = None
    lines: list[str] = field(default_factory=list)

    def alive(self) -> bool:
        return self.popen.poll() is None

    _tail: str | None = field(default=None, repr=False)

    def stop(self, kill: bool = False, timeout: float = 15.0) -> None:
        """SIGTERM (or SIGKILL), escalating to SIGKILL after ``timeout``; idempotent. Once the
        process is gone its stderr tail is kept in memory and the temporary file deleted."""
        if self.alive():
            self.popen.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout)
        if self._tail is None:
            self._tail = self._read_tail(_KEPT_TAIL)
            try:
                os.unlink(self.stderr_path)
            except OSError:
                pass

    def stderr_tail(self, limit: int = 4000) -> str:
        return (self._tail if self._tail is not None else self._read_tail(limit))[-limit:]

    def _read_tail(self, limit: int) -> str:
        try:
            with open(self.stderr_path, encoding="utf-8", errors="replace") as fh:
                return fh.read()[-limit:]
        except OSError:
            return ""



def _pump(stream: IO[str], out: queue.Queue[str | None], keep: list[str]) -> None:
    for line in stream:
        if len(keep) < 1000:
            keep.append(line)
        out.put(line)
    out.put(None)


def launch(argv: list[str], ready: ReadySpec, *, env: dict[str, str] | None = None,
           cwd: str | None = None) -> LaunchedProcess:
    err = tempfile.NamedTemporaryFile(prefix="testbed-gut-", suffix=".log", delete=False)
    popen = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL, text=True,
                             env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}, cwd=cwd,
                             start_new_session=True)
    err.close()
    proc = LaunchedProcess(popen, err.name)
    lines: queue.Queue[str | None] = queue.Queue()
    assert popen.stdout is not None
    threading.Thread(target=_pump, args=(popen.stdout, lines, proc.lines), daemon=True).start()
    try:
        if ready.line is not None:
            proc.url = _await_line(re.compile(ready.line), lines, ready.timeout_s)
        if ready.http is not None:
            _await_http(ready.http, proc, ready.timeout_s)
    except (ProcessStartError, WaitTimeout) as exc:
        proc.stop(kill=True)
        raise ProcessStartError(f"gateway under test did not become ready: {exc}; argv[0]={argv[0]!r}; "
                                f"stderr:\n{proc.stderr_tail()}") from None
    return proc


def _await_line(pattern: re.Pattern[str], lines: queue.Queue[str | None], timeout: float) -> str | None:
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            break
        if line is None:
            raise ProcessStartError("process exited before its ready line")
        m = pattern.search(line)
        if m:
            return m.groupdict().get("url")
    raise ProcessStartError(f"no ready line within {timeout:g}s")


def _await_http(url: str, proc: LaunchedProcess, timeout: float) -> None:
    def answers() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return 200 <= resp.status < 300
        except (urllib.error.URLError, OSError):
            return False

    wait_until(answers, timeout, what=f"health URL {url}",
               abort=lambda: None if proc.alive() else "process exited")
