"""Start a child process and wait until it is ready: the one launcher of the testbed.

The stack, the runner, gateway profiles, the benchmarks and the tests all start children here, so
there is one stdout pump, one stop and one stderr handling:

- Readiness (:class:`ReadySpec`) is the JSON ready line every testbed server prints (the default),
  a regex searched in each stdout line (its named groups become ``ready``, ``url`` the base URL),
  and/or an HTTP URL polled until it answers 2xx. One deadline covers all of it, never a sleep; a
  child that exits first fails at once. Every failure is a ProcessStartError with the stderr tail.
- stdout is read on one thread into ``lines`` (the newest MAX_KEPT_LINES); ``wait_for_line`` wakes
  on each arrival, so a later event (a supervisor's restart) is awaited the way the ready line is.
- stderr goes to a temporary file and is never echoed (it may hold whatever a gateway logs). Once
  the child is gone its text is kept in memory, bounded, and the file deleted, so no temporary
  file outlives ``stop()``. A program that logs its readiness to stderr (nats-server) is started
  with ``merge_stderr``: stderr joins stdout, and its lines are what ``stderr_text`` returns.
- ``stop()`` and ``kill()`` record that the exit was asked for: a supervisor restarts only exits
  nobody asked for.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Final, TypeVar

from testbed.errors import ProcessStartError, WaitTimeout
from testbed.priority import Background, lowered
from testbed.waiting import wait_until

T = TypeVar("T")

DEFAULT_START_TIMEOUT_S: Final = 30.0
MAX_KEPT_STDERR: Final = 16 << 20
"""Bytes of a child's stderr read back (tests search whole logs for secrets), never unbounded."""
MAX_KEPT_LINES: Final = 20_000
"""stdout lines kept; a chatty long-lived child (``testbed up``) must not grow without bound."""
STDERR_TAIL: Final = 4000
"""Characters of stderr a start failure shows."""


@dataclass(frozen=True, slots=True)
class ReadySpec:
    """How a child tells it is ready. With neither ``line`` nor ``http``: the JSON ready line."""

    line: str | None = None
    """Regex searched in each stdout line; its named groups (``url``: the base URL) become ``ready``."""
    http: str | None = None
    """URL polled until it answers 2xx (after ``line`` when both are given)."""
    timeout_s: float = DEFAULT_START_TIMEOUT_S


JSON_READY: Final = ReadySpec()


class StdoutLog:
    """A child's stdout lines as they arrive; waits wake on each new line or on the end of output."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._dropped = 0
        self._ended = False
        self._cond = threading.Condition()

    def pump(self, stream: IO[str]) -> None:
        """Read ``stream`` to its end (on a daemon thread); a waiter learns of the end however it came."""
        try:
            for line in stream:
                with self._cond:
                    self.lines.append(line)
                    if len(self.lines) > MAX_KEPT_LINES:
                        # Trim by half, so the copy is paid once per MAX_KEPT_LINES / 2 lines.
                        cut = len(self.lines) - MAX_KEPT_LINES // 2
                        del self.lines[:cut]
                        self._dropped += cut
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._ended = True
                self._cond.notify_all()

    def wait_for(self, match: Callable[[str], T | None], timeout: float, *, after: int = 0,
                 what: str = "a matching line") -> tuple[T, int]:
        """The first ``match(line)`` that is not None, searching from line number ``after`` (0: the
        first line printed), and the number of the next line. WaitTimeout at the deadline, or at
        once when the output ends first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                start = max(after - self._dropped, 0)
                for i in range(start, len(self.lines)):
                    value = match(self.lines[i])
                    if value is not None:
                        return value, self._dropped + i + 1
                after = self._dropped + len(self.lines)
                if self._ended:
                    raise WaitTimeout(f"the process exited before {what}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WaitTimeout(f"{what} not seen within {timeout:g}s")
                self._cond.wait(remaining)


@dataclass
class ServerProcess:
    """A running child and what it printed when it became ready."""

    argv: list[str]
    popen: subprocess.Popen[str]
    stderr_path: str | None
    """The temporary file stderr goes to; None when stderr joins stdout."""
    stdout: StdoutLog = field(default_factory=StdoutLog, repr=False)
    ready: dict[str, Any] = field(default_factory=dict)
    """The JSON ready line, or a ready regex's named groups (empty for an HTTP probe alone)."""
    stop_reason: str | None = None
    """Set by ``stop()``/``kill()``: the exit was asked for (None: it died on its own)."""
    _stderr_kept: str | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return int(self.popen.pid)

    @property
    def url(self) -> str:
        return str(self.ready["url"])

    @property
    def lines(self) -> list[str]:
        """stdout so far (the newest MAX_KEPT_LINES), the ready line included."""
        return self.stdout.lines

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            self.popen.send_signal(sig)

    def wait_for_line(self, pattern: str, timeout: float, *, after: int = 0) -> tuple[re.Match[str], int]:
        """The first stdout line from number ``after`` that ``pattern`` (a regex) is found in, and
        the number of the next line; WaitTimeout at the deadline or when the output ends first."""
        compiled = re.compile(pattern)
        return self.stdout.wait_for(compiled.search, timeout, after=after, what=f"a line matching {pattern!r}")

    def wait_for_event(self, event: str, timeout: float, *, after: int = 0, **fields: Any) -> tuple[dict[str, Any], int]:
        """The first JSON stdout line from number ``after`` with this ``event`` and these field
        values (a supervisor's ``restarted``), and the number of the next line."""

        def match(line: str) -> dict[str, Any] | None:
            obj = json_line(line)
            wanted = obj is not None and obj.get("event") == event and all(obj.get(k) == v for k, v in fields.items())
            return obj if wanted else None

        return self.stdout.wait_for(match, timeout, after=after, what=f"event {event!r} {fields or ''}".rstrip())

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

    def kill(self, reason: str = "killed") -> int | None:
        """SIGKILL, as a crash would; idempotent. Returns the exit status."""
        if self.alive():
            self.stop_reason = self.stop_reason or reason
            self.popen.kill()
            self.popen.wait(10)
        self.release()
        return self.popen.returncode

    def release(self) -> None:
        """Once the child has exited: keep its stderr in memory and delete the file (idempotent)."""
        if self.popen.poll() is None or self._stderr_kept is not None or self.stderr_path is None:
            return
        self._stderr_kept = _read_tail(self.stderr_path, MAX_KEPT_STDERR)
        try:
            os.unlink(self.stderr_path)
        except OSError:
            pass

    def stderr_text(self) -> str:
        if self._stderr_kept is not None:
            return self._stderr_kept
        if self.stderr_path is None:
            return "".join(self.lines)[-MAX_KEPT_STDERR:]
        return _read_tail(self.stderr_path, MAX_KEPT_STDERR)

    def stderr_tail(self, limit: int = STDERR_TAIL) -> str:
        if self._stderr_kept is not None:
            return self._stderr_kept[-limit:]
        if self.stderr_path is None:
            return "".join(self.lines[-200:])[-limit:]
        return _read_tail(self.stderr_path, limit)


def _read_tail(path: str, limit: int) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(max(0, os.path.getsize(path) - limit))
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""


def python_module_argv(module: str, *args: str) -> list[str]:
    """argv that runs ``python -m module args...`` with this interpreter."""
    return [sys.executable, "-m", module, *args]


def start_server(
    argv: Sequence[str],
    ready: ReadySpec = JSON_READY,
    *,
    timeout: float | None = None,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    merge_stderr: bool = False,
    background: Background = "none",
) -> ServerProcess:
    """Start ``argv`` and return once it is ready by ``ready`` (``timeout`` replaces its deadline);
    ProcessStartError otherwise, naming the program and showing its stderr tail. ``background``
    other than ``none`` runs it below the request path (``testbed.priority.lowered``)."""
    name = program_name(argv)
    err = None if merge_stderr else tempfile.NamedTemporaryFile(prefix="testbed-stderr-", suffix=".log", delete=False)
    try:
        popen = subprocess.Popen(
            lowered(argv, background), stdout=subprocess.PIPE, stderr=subprocess.STDOUT if err is None else err,
            stdin=subprocess.DEVNULL, text=True, errors="replace", env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"},
            cwd=cwd, start_new_session=True,
        )
    except OSError as exc:
        if err is not None:
            os.unlink(err.name)
        raise ProcessStartError(f"cannot start {name}: {exc}") from None
    finally:
        if err is not None:
            err.close()
    proc = ServerProcess(list(argv), popen, None if err is None else err.name)
    assert popen.stdout is not None
    threading.Thread(target=proc.stdout.pump, args=(popen.stdout,), name=f"stdout-{name}", daemon=True).start()
    try:
        proc.ready = _await_ready(proc, ready, ready.timeout_s if timeout is None else timeout)
    except WaitTimeout as exc:
        proc.kill(reason="not ready")
        raise ProcessStartError(f"{name} did not become ready: {exc}; stderr:\n{proc.stderr_tail()}") from None
    return proc


def program_name(argv: Sequence[str]) -> str:
    """What a message calls a child: the module of ``python -m module`` and its subcommand
    (``testbed gateway``), else the program's file name; never the whole argv, which a gateway
    profile may have rendered a key into."""
    if len(argv) >= 3 and argv[1] == "-m":
        sub = argv[3] if len(argv) > 3 and argv[3].isidentifier() else ""
        return f"{argv[2]} {sub}".rstrip()
    return os.path.basename(argv[0]) if argv else "?"


def _await_ready(proc: ServerProcess, spec: ReadySpec, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    found: dict[str, Any] = {}
    if spec.line is not None:
        pattern = re.compile(spec.line)
        found, _ = proc.stdout.wait_for(lambda line: _named_groups(pattern, line), timeout,
                                        what=f"a ready line matching {spec.line!r}")
    elif spec.http is None:
        found, _ = proc.stdout.wait_for(parse_ready_line, timeout, what="the ready line")
    if spec.http is not None:
        url = spec.http
        wait_until(lambda: _answers(url), max(deadline - time.monotonic(), 0.0), what=f"health URL {url}",
                   abort=lambda: None if proc.alive() else "the process exited")
    return found


def _named_groups(pattern: re.Pattern[str], line: str) -> dict[str, Any] | None:
    m = pattern.search(line)
    return None if m is None else {k: v for k, v in m.groupdict().items() if v is not None}


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return 200 <= int(resp.status) < 300
    except (urllib.error.URLError, OSError):
        return False


def json_line(line: str) -> dict[str, Any] | None:
    """The object a line holds if it is one JSON object (a ready line, a logged event), else None."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def parse_ready_line(line: str) -> dict[str, Any] | None:
    """The ready object if ``line`` is a JSON ready line (``"event": "ready"``), else None."""
    obj = json_line(line)
    return obj if obj is not None and obj.get("event") == "ready" else None
