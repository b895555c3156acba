"""The supervisor and its backoff: a child that dies on its own is restarted (counted, logged,
backoff respected); a child stopped or killed on purpose (a fault, a restart) is left down and
the log says so; a closed supervisor restarts nothing; and the runner's counter increments stay
right across a restart on the same URL. Children are real small processes that print a ready
line and wait for a signal; waits are conditions with deadlines."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from testbed.process import ServerProcess, start_server
from testbed.prometheus import sample_sum
from testbed.runner.backoff import Backoff
from testbed.runner.supervisor import Supervisor
from testbed.waiting import wait_until
from prometheus_client import generate_latest

CHILD = ("import json, signal; print(json.dumps({'event': 'ready', 'url': 'http://127.0.0.1:1'}), flush=True); "
         "signal.pause()")


def child() -> ServerProcess:
    return start_server([sys.executable, "-c", CHILD], timeout=30)


class Harness:
    """A supervisor whose restart starts another small child; every process is stopped at the end."""

    def __init__(self, backoff: Backoff | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.started: list[ServerProcess] = []
        self.restarted_for: list[int] = []
        self.lock = threading.Lock()
        self.sup = Supervisor(self.restart, self.events.append, backoff or Backoff(initial_s=0.01))

    def start(self, part: str = "exporter") -> ServerProcess:
        proc = child()
        with self.lock:
            self.started.append(proc)
        self.sup.watch(part, proc)
        return proc

    def restart(self, part: str, dead: ServerProcess) -> ServerProcess:
        self.restarted_for.append(dead.pid)
        return self.start(part)

    def kinds(self) -> list[str]:
        return [e["event"] for e in self.events]

    def metric(self, name: str, part: str) -> float:
        return sample_sum(generate_latest(self.sup.registry).decode(), name, part=part)

    def close(self) -> None:
        self.sup.close()
        for proc in self.started:
            proc.kill()


@pytest.fixture
def harness() -> Iterator[Harness]:
    h = Harness()
    yield h
    h.close()


def test_backoff_doubles_from_its_initial_delay_up_to_its_cap() -> None:
    b = Backoff(initial_s=0.1, factor=2, cap_s=0.5)
    assert [b.delay(n) for n in (1, 2, 3, 4, 5)] == [0.1, 0.2, 0.4, 0.5, 0.5]
    with pytest.raises(ValueError):
        b.delay(0)


def test_a_child_that_stayed_up_long_enough_starts_its_backoff_over() -> None:
    b = Backoff(reset_after_s=30)
    assert b.streak(previous_streak=4, uptime_s=31) == 1
    assert b.streak(previous_streak=4, uptime_s=2) == 5


def test_a_child_killed_from_outside_is_restarted_counted_and_logged(harness: Harness) -> None:
    first = harness.start()
    os.kill(first.pid, signal.SIGKILL)
    wait_until(lambda: "restarted" in harness.kinds(), 30, what="the restart")
    assert harness.restarted_for == [first.pid]
    assert harness.sup.restarts == {"exporter": 1}
    restart = next(e for e in harness.events if e["event"] == "restart")
    assert restart["exit_code"] == -signal.SIGKILL and restart["attempt"] == 1 and restart["delay_s"] == 0.01
    done = next(e for e in harness.events if e["event"] == "restarted")
    assert done["pid"] == harness.started[-1].pid != first.pid
    json.dumps(harness.events)  # each event is one JSON line
    assert harness.metric("testbed_supervisor_restarts_total", "exporter") == 1
    assert harness.metric("testbed_supervisor_child_pid", "exporter") == harness.started[-1].pid
    assert harness.sup.pids() == {"exporter": harness.started[-1].pid}


def test_quick_deaths_in_a_row_wait_longer_each_time() -> None:
    h = Harness(Backoff(initial_s=0.01, factor=3, reset_after_s=600))
    try:
        os.kill(h.start().pid, signal.SIGKILL)
        wait_until(lambda: h.kinds().count("restarted") == 1, 30, what="first restart")
        os.kill(h.started[-1].pid, signal.SIGKILL)
        wait_until(lambda: h.kinds().count("restarted") == 2, 30, what="second restart")
        delays = [e["delay_s"] for e in h.events if e["event"] == "restart"]
        assert delays == [0.01, 0.03] and h.sup.restarts == {"exporter": 2}
    finally:
        h.close()


@pytest.mark.parametrize("how", ["kill", "stop"])
def test_a_child_stopped_on_purpose_is_left_down_and_the_log_says_why(harness: Harness, how: str) -> None:
    proc = harness.start()
    if how == "kill":
        proc.kill(reason="fault kill-exporter")
    else:
        proc.stop(reason="fault kill-exporter")
    wait_until(lambda: "child_exit" in harness.kinds(), 30, what="the exit logged")
    exit_event = harness.events[-1]
    assert exit_event["restart"] is False and exit_event["reason"] == "fault kill-exporter"
    assert harness.restarted_for == [] and harness.sup.restarts == {"exporter": 0}
    assert harness.metric("testbed_supervisor_exits_left_down_total", "exporter") == 1
    assert harness.metric("testbed_supervisor_child_up", "exporter") == 0


def test_a_replaced_child_s_exit_is_not_a_death(harness: Harness) -> None:
    old = harness.start()
    new = harness.start()  # someone (the fault timeline) already started a replacement
    os.kill(old.pid, signal.SIGKILL)
    old.popen.wait(30)
    os.kill(new.pid, signal.SIGKILL)
    wait_until(lambda: "restarted" in harness.kinds(), 30, what="the current child's restart")
    assert harness.restarted_for == [new.pid] and harness.sup.restarts == {"exporter": 1}


def test_a_closed_supervisor_restarts_nothing(harness: Harness) -> None:
    proc = harness.start()
    harness.sup.close()
    os.kill(proc.pid, signal.SIGKILL)
    proc.popen.wait(30)
    wait_until(lambda: not any(t.name == "supervise-exporter" for t in threading.enumerate()), 30,
               what="the waiter to finish")
    assert harness.restarted_for == [] and harness.events == []


def test_a_failed_restart_is_logged_and_tried_again_with_more_backoff() -> None:
    attempts: list[int] = []
    events: list[dict[str, Any]] = []
    procs: list[ServerProcess] = []

    def flaky(part: str, dead: ServerProcess) -> ServerProcess:
        attempts.append(dead.pid)
        if len(attempts) == 1:
            raise RuntimeError("port taken")
        procs.append(child())
        sup.watch(part, procs[-1])
        return procs[-1]

    sup = Supervisor(flaky, events.append, Backoff(initial_s=0.01))
    procs.append(child())
    sup.watch("gateway", procs[0])
    try:
        os.kill(procs[0].pid, signal.SIGKILL)
        wait_until(lambda: any(e["event"] == "restarted" for e in events), 30, what="the second try")
        kinds = [e["event"] for e in events]
        assert kinds == ["restart", "restart_failed", "restart", "restarted"]
        assert [e["delay_s"] for e in events if e["event"] == "restart"] == [0.01, 0.02]
        assert "port taken" in events[1]["error"]
    finally:
        sup.close()
        for p in procs:
            p.kill()


def test_the_summary_counts_restarts_and_names_exits_left_down_since_a_time(harness: Harness) -> None:
    import time

    os.kill(harness.start("exporter").pid, signal.SIGKILL)
    wait_until(lambda: "restarted" in harness.kinds(), 30, what="the restart")
    since = time.time_ns()
    harness.start("gateway").kill(reason="fault restart-gw (gateway_restart)")
    wait_until(lambda: "child_exit" in harness.kinds(), 30, what="the exit logged")
    summary = harness.sup.summary(since)
    assert summary["restarts"] == {} and summary["left_down"] == [
        {"part": "gateway", "reason": "fault restart-gw (gateway_restart)"}]
    assert harness.sup.summary(0)["restarts"] == {"exporter": 1}


def test_a_counter_that_restarted_on_the_same_url_counts_its_whole_value_as_the_increment() -> None:
    from testbed.runner.run import _delta

    before = {"http://127.0.0.1:9/metrics": {"sent_total": 50.0, "queued": 3.0}}
    after = {"http://127.0.0.1:9/metrics": {"sent_total": 7.0, "queued": 1.0}}
    assert _delta(after, before) == {"sent_total": 7.0, "queued": 1.0}
    grown = {"http://127.0.0.1:9/metrics": {"sent_total": 58.0, "queued": 0.0}}
    assert _delta(grown, before) == {"sent_total": 8.0, "queued": 0.0}
