"""The fault timeline (SPEC 10): ordering of apply/clear actions, the provider-behaviour rules and
ingest fault bodies faults become, and the executor recording every application on time."""

from __future__ import annotations

import asyncio

from testbed.runner.scenario import Fault
from testbed.runner.timeline import ProviderRules, execute, ingest_fault_body, plan, provider_rule


def fault(name: str, target: str = "ingest", kind: str = "status", at: float = 0.0, dur: float | None = None,
          **params: object) -> Fault:
    return Fault(name, target, kind, at, dur, params=params, match={"model": "m-*"} if target == "provider" else {})


def test_actions_are_ordered_and_a_fault_without_duration_clears_when_the_load_ends() -> None:
    actions = plan([fault("b", at=1.0, dur=0.5), fault("a", at=0.2)], load_duration_s=3.0)
    assert [(a.t_s, a.op, a.fault.name) for a in actions] == [
        (0.2, "apply", "a"), (1.0, "apply", "b"), (1.5, "clear", "b"), (3.0, "clear", "a")]


def test_back_to_back_blocks_clear_before_the_next_apply() -> None:
    actions = plan([fault("x", at=0, dur=1), fault("y", at=1, dur=1)], load_duration_s=2)
    assert [(a.t_s, a.op, a.fault.name) for a in actions][1:3] == [(1, "clear", "x"), (1, "apply", "y")]


def test_a_killed_exporter_without_duration_comes_back_right_after_the_kill() -> None:
    actions = plan([fault("k", target="exporter", kind="exporter_kill", at=1.0)], load_duration_s=5)
    assert [(a.t_s, a.op) for a in actions] == [(1.0, "apply"), (1.0, "clear")]


def test_provider_faults_become_behaviour_rules_selected_by_model() -> None:
    f = Fault("t", "provider", "throttle", match={"model": "errors-*"}, times=2, params={"status": 429, "retry_after": 1})
    assert provider_rule(f) == {"name": "t", "model": "errors-*", "status": 429, "retry_after": 1, "times": 2}
    mid = Fault("m", "provider", "mid_stream_error", match={"model": "x"}, params={"after_chunks": 2})
    assert provider_rule(mid)["mid_stream_error"] == {"after_chunks": 2}
    assert provider_rule(Fault("o", "provider", "overloaded", match={"model": "x"}))["overloaded"] is True


def test_active_fault_rules_take_precedence_over_the_scenario_behaviours() -> None:
    rules = ProviderRules(base=({"model": "*", "latency_ms": 5},))
    rules.active["f"] = {"name": "f", "model": "a", "status": 500}
    assert [r.get("name") for r in rules.rules()] == ["f", None]


def test_an_ingest_down_fault_reopens_by_itself_after_its_duration() -> None:
    body = ingest_fault_body(Fault("d", "ingest", "down", 0.5, 1.5))
    assert body == {"name": "d", "kind": "down", "duration_ms": 1500}
    assert ingest_fault_body(Fault("s", "ingest", "status", times=3, params={"status": 503}))["times"] == 3


class Recorder:
    def __init__(self, fail_on: str | None = None) -> None:
        self.calls: list[tuple[str, str, float]] = []
        self.fail_on = fail_on

    async def apply(self, f: Fault) -> None:
        self.calls.append(("apply", f.name, asyncio.get_running_loop().time()))
        if f.name == self.fail_on:
            raise RuntimeError("refused")

    async def clear(self, f: Fault) -> None:
        self.calls.append(("clear", f.name, asyncio.get_running_loop().time()))


async def test_the_executor_applies_on_schedule_and_records_failures_without_stopping() -> None:
    rec = Recorder(fail_on="a")
    loop = asyncio.get_running_loop()
    start = loop.time()
    records = await execute(plan([fault("a", dur=0.1), fault("b", at=0.05, dur=0.1)], 1.0), {"ingest": rec},
                            start_monotonic=start)
    assert [(c[0], c[1]) for c in rec.calls] == [("apply", "a"), ("apply", "b"), ("clear", "a"), ("clear", "b")]
    assert rec.calls[1][2] - start >= 0.05 and rec.calls[3][2] - start >= 0.15
    assert records[0].error == "RuntimeError: refused" and all(r.error is None for r in records[1:])
    assert all(r.end_ns >= r.start_ns for r in records)
