"""Supervision of the stack's restartable children: the exporter and the reference gateway.

One waiter thread per child blocks in ``wait()`` (no polling). When a child exits:

- if someone asked for it (``ServerProcess.stop``/``kill``: a fault on the timeline, a gateway
  restart, the stack stopping), the supervisor leaves it down and logs that it did so, because
  restarting would fight the fault (SPEC FLT-22: the timeline brings the exporter back itself);
- if it died on its own (``kill -9`` from outside, a crash), the supervisor waits its backoff
  (``backoff.py``), asks the stack to start it again on the same port, and counts the restart.

Every decision is one JSON object handed to ``log`` and kept in ``events``. ``registry`` holds the
counters that ``testbed up`` serves on its own ``/metrics`` page: restarts, exits left alone,
the current pid and whether the child is up, and the last downtime.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge

from testbed.process import ServerProcess
from testbed.runner.backoff import Backoff

Restart = Callable[[str, ServerProcess], ServerProcess]
"""Start ``part`` again in place of the dead process given (the stack's ``restart_part``)."""
Log = Callable[[dict[str, Any]], None]

MAX_EVENTS = 1000


class Supervisor:
    """Restarts children that die on their own; ``close()`` (idempotent) stops all supervision."""

    def __init__(self, restart: Restart, log: Log | None = None, backoff: Backoff | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._restart = restart
        self._log = log or (lambda _event: None)
        self.backoff = backoff or Backoff()
        self._clock = clock
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._current: dict[str, ServerProcess] = {}
        self._started: dict[str, float] = {}
        self._streak: dict[str, int] = {}
        self.restarts: dict[str, int] = {}
        self.events: deque[dict[str, Any]] = deque(maxlen=MAX_EVENTS)
        self.registry = CollectorRegistry()
        self._m_restarts = Counter("testbed_supervisor_restarts", "Children restarted after dying on their own.",
                                   ["part"], registry=self.registry)
        self._m_left = Counter("testbed_supervisor_exits_left_down",
                               "Exits that were asked for (a fault, a restart, a stop), not restarted.",
                               ["part"], registry=self.registry)
        self._m_pid = Gauge("testbed_supervisor_child_pid", "Process id of the current child.", ["part"],
                            registry=self.registry)
        self._m_up = Gauge("testbed_supervisor_child_up", "1 while the current child runs.", ["part"],
                           registry=self.registry)
        self._m_down = Gauge("testbed_supervisor_last_downtime_seconds",
                             "From the unasked exit to the replacement's ready line.", ["part"], registry=self.registry)

    def watch(self, part: str, proc: ServerProcess) -> None:
        """Make ``proc`` the current ``part`` and supervise it."""
        with self._lock:
            self._current[part] = proc
            self._started[part] = self._clock()
            self.restarts.setdefault(part, 0)
        self._m_pid.labels(part).set(proc.pid)
        self._m_up.labels(part).set(1)
        self._m_restarts.labels(part)
        self._m_left.labels(part)
        threading.Thread(target=self._wait, args=(part, proc), name=f"supervise-{part}", daemon=True).start()

    def pids(self) -> dict[str, int]:
        with self._lock:
            return {part: proc.pid for part, proc in self._current.items()}

    def close(self) -> None:
        self._closed.set()

    def _emit(self, event: dict[str, Any]) -> None:
        event = {"event": event.pop("event"), "service": "supervisor", "time_ns": time.time_ns(), **event}
        self.events.append(event)
        self._log(event)

    def _wait(self, part: str, proc: ServerProcess) -> None:
        code = proc.popen.wait()
        died_at = self._clock()
        with self._lock:
            if self._closed.is_set() or self._current.get(part) is not proc:
                return
            self._m_up.labels(part).set(0)
            if proc.stop_reason is not None:
                self._m_left.labels(part).inc()
                asked = True
            else:
                asked = False
                streak = self.backoff.streak(self._streak.get(part, 0), died_at - self._started[part])
                self._streak[part] = streak
                self.restarts[part] += 1
                self._m_restarts.labels(part).inc()
        if asked:
            self._emit({"event": "child_exit", "part": part, "pid": proc.pid, "exit_code": code,
                        "reason": proc.stop_reason, "restart": False,
                        "why": "the exit was asked for; the supervisor does not fight it"})
            return
        self._restart_after_backoff(part, proc, code, died_at, streak)

    def _restart_after_backoff(self, part: str, dead: ServerProcess, code: int, died_at: float, streak: int) -> None:
        while True:
            delay = self.backoff.delay(streak)
            self._emit({"event": "restart", "part": part, "pid": dead.pid, "exit_code": code, "attempt": streak,
                        "delay_s": round(delay, 3), "restarts": self.restarts[part]})
            if self._closed.wait(delay):
                return
            try:
                new = self._restart(part, dead)
            except Exception as exc:  # noqa: BLE001 - a failed start is retried with more backoff
                if self._closed.is_set():
                    return
                streak += 1
                first = str(exc).splitlines()[0][:200] if str(exc) else ""
                self._emit({"event": "restart_failed", "part": part, "error": f"{type(exc).__name__}: {first}"})
                continue
            dead.release()
            down_s = self._clock() - died_at
            self._m_down.labels(part).set(down_s)
            self._emit({"event": "restarted", "part": part, "pid": new.pid, "url": new.url,
                        "same_url": new.url == dead.url, "down_s": round(down_s, 3), "restarts": self.restarts[part]})
            return

    def summary(self, since_ns: int = 0) -> dict[str, Any]:
        """What the supervisor did since ``since_ns`` (wall clock), for a scenario's results: restarts
        per part, exits it left down on purpose (and why), and the events themselves (the last 50)."""
        events = [e for e in list(self.events) if e["time_ns"] >= since_ns]
        restarts: dict[str, int] = {}
        for e in events:
            if e["event"] == "restarted":
                restarts[e["part"]] = restarts.get(e["part"], 0) + 1
        left = [{"part": e["part"], "reason": e["reason"]} for e in events if e["event"] == "child_exit"]
        return {"restarts": restarts, "left_down": left, "events": events[-50:]}
