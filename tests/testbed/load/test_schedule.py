"""Open-loop schedules (LAT-01, LAT-04): fixed before the run, the same for the same seed,
alternating paths slot by slot with the same payload per round."""

from __future__ import annotations

import pytest

from testbed.errors import ConfigError
from testbed.load.schedule import MixItem, build_schedule

MIX = (MixItem("chat", 3), MixItem("stream", 1, {"stream": True}))


@pytest.mark.parametrize("process", ["constant", "poisson"])
def test_same_seed_gives_the_same_schedule_LAT_01(process: str) -> None:
    a = build_schedule(200, 2, process=process, seed=11, mix=MIX, paths=("gateway", "direct"))
    b = build_schedule(200, 2, process=process, seed=11, mix=MIX, paths=("gateway", "direct"))
    assert a == b and len(a) > 300


def test_another_seed_gives_another_poisson_schedule() -> None:
    a = build_schedule(200, 2, process="poisson", seed=1)
    b = build_schedule(200, 2, process="poisson", seed=2)
    assert [x.offset_ns for x in a.arrivals] != [x.offset_ns for x in b.arrivals]


def test_constant_arrivals_are_evenly_spaced() -> None:
    s = build_schedule(100, 1)
    assert len(s) == 100
    assert {b.offset_ns - a.offset_ns for a, b in zip(s.arrivals, s.arrivals[1:])} <= {10_000_000, 9_999_999, 10_000_001}


def test_poisson_rate_is_about_right_and_within_the_duration() -> None:
    s = build_schedule(500, 4, process="poisson", seed=5)
    assert 1700 < len(s) < 2300
    assert all(0 < a.offset_ns < 4 * 10**9 for a in s.arrivals)


def test_paths_take_turns_with_the_same_item_per_round_LAT_04() -> None:
    s = build_schedule(300, 1, seed=3, mix=MIX, paths=("gateway", "direct", "comparator"))
    rounds = [s.arrivals[i:i + 3] for i in range(0, len(s) - 2, 3)]
    assert all(sorted(a.path for a in r) == ["comparator", "direct", "gateway"] for r in rounds)
    assert all(a.item is r[0].item for r in rounds for a in r)
    assert {a.item.name for a in s.arrivals} == {"chat", "stream"}


def test_the_order_within_rounds_is_a_seeded_shuffle_LAT_04() -> None:
    """A fixed rotation phase-locks each path's answers to another path's sends (module docstring):
    every path must come first, second and third in some rounds, in the same way for one seed."""
    paths = ("gateway", "direct", "comparator")
    s = build_schedule(300, 1, seed=3, mix=MIX, paths=paths)
    orders = [tuple(a.path for a in s.arrivals[i:i + 3]) for i in range(0, len(s) - 2, 3)]
    assert all(sum(o[k] == p for o in orders) >= 10 for p in paths for k in range(3))
    again = build_schedule(300, 1, seed=3, mix=MIX, paths=paths)
    assert [a.path for a in again.arrivals] == [a.path for a in s.arrivals]
    other = build_schedule(300, 1, seed=4, mix=MIX, paths=paths)
    assert [a.path for a in other.arrivals] != [a.path for a in s.arrivals]


@pytest.mark.parametrize("kw", [{"rate_per_s": 0}, {"duration_s": -1}, {"process": "burst"},
                                {"mix": ()}, {"mix": (MixItem("a", 0),)}, {"paths": ()}],
                         ids=["zero-rate", "negative-duration", "unknown-process", "empty-mix", "zero-weights", "no-paths"])
def test_bad_workloads_are_refused(kw: dict) -> None:
    args = {"rate_per_s": 10, "duration_s": 1, **kw}
    with pytest.raises(ConfigError):
        build_schedule(args.pop("rate_per_s"), args.pop("duration_s"), **args)
